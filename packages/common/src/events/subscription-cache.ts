import type { EventSubject, SubscriptionMatcher } from './ports.js';
import { buildSubscriptionIndex, type SubscriptionIndex } from './subscription-index.js';
import type { Subscription } from './subscription-schema.js';
import type { SubscriptionStore } from './subscription-store.js';

/**
 * SubscriptionMatcher of one process: per application, the index of its
 * subscriptions in memory. At most once per `refreshMs` per application it
 * reads the application's version counter (one GET) and rebuilds the index
 * from the hash only when the counter moved, so a job event costs no Redis
 * round trip most of the time and a change to the subscriptions reaches every
 * process within about `refreshMs` (1 s by default): an event emitted in that
 * window may still go by the old list. While Redis fails, an application
 * already indexed keeps its last index (each match tries the version again),
 * so an outage does not fail the events of every job; one never indexed
 * gets the error.
 */

export interface SubscriptionCacheOptions {
  /** How often an application's version counter is read, in ms. @defaultValue 1000 */
  refreshMs?: number;
  /** Epoch ms now (injected by tests). @defaultValue Date.now */
  now?: () => number;
}

interface Entry {
  version: number;
  index: SubscriptionIndex;
  /** The enabled subscriptions by id: what a delivery reads (url, headers) without a round trip. */
  enabled: Map<string, Subscription>;
  /** When the version was last read (ms, the injected clock). */
  checkedAt: number;
}

export class SubscriptionCache implements SubscriptionMatcher {
  private readonly entries = new Map<string, Entry>();
  /** The refresh in flight per application, shared by concurrent matches. */
  private readonly refreshing = new Map<string, Promise<Entry>>();
  private readonly refreshMs: number;
  private readonly now: () => number;

  constructor(
    private readonly store: SubscriptionStore,
    options: SubscriptionCacheOptions = {},
  ) {
    this.refreshMs = options.refreshMs ?? 1000;
    this.now = options.now ?? Date.now;
  }

  async match(application: string, subject: EventSubject): Promise<readonly Subscription[]> {
    return (await this.indexOf(application)).match(subject);
  }

  /**
   * An enabled subscription of the application as this process knows it (at
   * most `refreshMs` old), or null when it is deleted or disabled: what an
   * event delivery reads for its URL and headers. A change reaches deliveries
   * within the same second as it reaches matching.
   */
  async get(application: string, id: string): Promise<Subscription | null> {
    await this.indexOf(application);
    return this.entries.get(application)?.enabled.get(id) ?? null;
  }

  /** The application's index, refreshed first when its version is due for a check. */
  async indexOf(application: string): Promise<SubscriptionIndex> {
    const entry = this.entries.get(application);
    if (entry && this.now() - entry.checkedAt < this.refreshMs) return entry.index;
    let refreshing = this.refreshing.get(application);
    if (!refreshing) {
      refreshing = this.refresh(application, entry).finally(() => this.refreshing.delete(application));
      this.refreshing.set(application, refreshing);
    }
    return (await refreshing).index;
  }

  private async refresh(application: string, entry: Entry | undefined): Promise<Entry> {
    try {
      return await this.reload(application, entry);
    } catch (err) {
      if (entry) return entry;
      throw err;
    }
  }

  private async reload(application: string, entry: Entry | undefined): Promise<Entry> {
    const checkedAt = this.now();
    if (entry && (await this.store.version(application)) === entry.version) {
      entry.checkedAt = checkedAt;
      return entry;
    }
    const snapshot = await this.store.snapshot(application);
    const next: Entry = {
      version: snapshot.version,
      index: buildSubscriptionIndex(snapshot.subscriptions),
      enabled: new Map(snapshot.subscriptions.filter((sub) => sub.enabled).map((sub) => [sub.id, sub])),
      checkedAt,
    };
    this.entries.set(application, next);
    return next;
  }
}
