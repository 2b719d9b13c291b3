import type { Redis } from 'ioredis';
import { RelayError } from '../errors.js';
import { redisKeys, type RedisKeys } from '../keys/redis-keys.js';
import { runScript } from '../store/lua-loader.js';
import { execAll, onRedis } from '../store/redis-exec.js';
import type { EventBody } from './event-message.js';
import type { DeliveryLogReader, DeliveryLogWriter, DeliveryOutcome, EndpointHealth } from './ports.js';
import type { EventDelivery, EventDeliveryStatus, Subscription } from './subscription-schema.js';
import type { SubscriptionStore } from './subscription-store.js';

/**
 * The per-subscription delivery log and endpoint health in Redis.
 *
 * Log: a sorted set of delivery ids scored by the epoch ms of each one's
 * first record (newest first when paged), and a hash of id -> state JSON
 * (an EventDelivery) plus id:body -> the body sent, kept for a resend. Both
 * expire with the job TTL and the set is trimmed of older entries on every
 * write (lua/delivery-record.lua), so a log holds about one TTL of events.
 *
 * Health: subscription id -> the ms its current run of failures began
 * (HSETNX: the first failure of a run sets it, the record of a delivered
 * outcome deletes it). A run
 * that has lasted `disableAfterMs` disables the subscription through the
 * store's compare-and-set, so of many workers reporting failures at once
 * exactly one gets the subscription back (and emits endpoint.disabled).
 */

export interface DeliveryLogOptions {
  prefix: string;
  /** Lifetime of a log after its last write, and the age its entries are trimmed at (the job TTL), in s. */
  ttlSeconds: number;
  /** The store whose subscriptions a failing run disables. */
  subscriptions: SubscriptionStore;
  /** Epoch ms now (injected by tests). @defaultValue Date.now */
  now?: () => number;
}

/**
 * Order of states within one attempt number: a record ranks
 * attempts * 4 + this, and a lower rank never replaces a higher one.
 */
const STATUS_RANK: Record<EventDeliveryStatus, number> = { pending: 0, retrying: 1, failed: 2, delivered: 3 };

function rankOf(delivery: Pick<EventDelivery, 'attempts' | 'status'>): number {
  return delivery.attempts * 4 + STATUS_RANK[delivery.status];
}

/** Entries read from the set per round trip while paging. */
const BATCH = 200;
/** A page examines at most this many entries (a rare status filter): the rest is behind its cursor. */
const MAX_EXAMINED_PER_PAGE = 5000;

interface LogCursor {
  /** Score (ms) of the last entry shown. */
  s: number;
  id: string;
}

function encodeLogCursor(c: LogCursor): string {
  return Buffer.from(JSON.stringify(c)).toString('base64url');
}

function decodeLogCursor(raw: string): LogCursor {
  try {
    const c = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as LogCursor;
    if (typeof c === 'object' && c !== null && Number.isFinite(c.s) && typeof c.id === 'string') return c;
  } catch {
    // Not JSON: refused below.
  }
  throw new RelayError('INVALID_CURSOR', { details: [{ path: '/querystring/cursor', message: 'is not valid' }] });
}

/** The stored state without the rank the script keeps in it. */
function parseState(raw: string): EventDelivery {
  const { rank: _rank, ...delivery } = JSON.parse(raw) as EventDelivery & { rank?: number };
  return delivery;
}

export class DeliveryLog implements DeliveryLogWriter, DeliveryLogReader, EndpointHealth {
  private readonly now: () => number;

  constructor(
    readonly redis: Redis,
    private readonly options: DeliveryLogOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  private keys(application: string): RedisKeys {
    return redisKeys(this.options.prefix, application);
  }

  private async write(
    application: string,
    subscriptionId: string,
    state: EventDelivery,
    body: EventBody | null,
    force: boolean,
  ): Promise<boolean> {
    const k = this.keys(application);
    const reply = await onRedis(
      runScript(
        this.redis,
        'delivery-record',
        [
          k.subscriptionDeliveries(subscriptionId),
          k.subscriptionDeliveryRecords(subscriptionId),
          k.subscriptionHealth(),
        ],
        [
          state.id,
          JSON.stringify(state),
          body ? JSON.stringify(body) : '',
          rankOf(state),
          this.now(),
          this.options.ttlSeconds,
          force ? '1' : '0',
          subscriptionId,
          state.status === 'delivered' ? '1' : '0',
        ],
      ),
    );
    return reply === 1;
  }

  async record(
    application: string,
    subscriptionId: string,
    delivery: { id: string; body: EventBody },
    outcome: DeliveryOutcome,
  ): Promise<void> {
    const at = new Date(this.now()).toISOString();
    const state: EventDelivery = {
      id: delivery.id,
      subscriptionId,
      jobId: delivery.body.jobId,
      event: delivery.body.event,
      sequence: delivery.body.sequence,
      status: outcome.status,
      attempts: outcome.attempts,
      lastStatusCode: outcome.lastStatusCode,
      error: outcome.error,
      createdAt: at,
      updatedAt: at,
      nextAttemptAt: outcome.nextAttemptAt,
    };
    await this.write(application, subscriptionId, state, delivery.body, false);
  }

  /**
   * Starts a delivery over for a resend: pending, no attempts, whatever its
   * state was. Returns the state it replaced (for restore), or null when the
   * delivery is not in the log.
   */
  async markPending(application: string, subscriptionId: string, deliveryId: string): Promise<EventDelivery | null> {
    const found = await this.get(application, subscriptionId, deliveryId);
    if (!found) return null;
    const pending: EventDelivery = {
      ...found.delivery,
      status: 'pending',
      attempts: 0,
      lastStatusCode: null,
      error: null,
      nextAttemptAt: null,
      updatedAt: new Date(this.now()).toISOString(),
    };
    await this.write(application, subscriptionId, pending, null, true);
    return found.delivery;
  }

  /** Puts back the state markPending replaced (the resend could not be queued). */
  async restore(application: string, subscriptionId: string, previous: EventDelivery): Promise<void> {
    await this.write(application, subscriptionId, previous, null, true);
  }

  async get(
    application: string,
    subscriptionId: string,
    deliveryId: string,
  ): Promise<{ delivery: EventDelivery; body: EventBody } | null> {
    const k = this.keys(application);
    const [state, body] = await onRedis(
      this.redis.hmget(k.subscriptionDeliveryRecords(subscriptionId), deliveryId, `${deliveryId}:body`),
    );
    if (!state || !body) return null;
    return { delivery: parseState(state), body: JSON.parse(body) as EventBody };
  }

  page(
    application: string,
    subscriptionId: string,
    query: { limit: number; cursor: string | null; status?: EventDeliveryStatus },
  ): Promise<{ deliveries: EventDelivery[]; nextCursor: string | null }> {
    return this.scan(application, subscriptionId, query, '-inf');
  }

  /** A page newest first of the entries scored at or above `min`. */
  private async scan(
    application: string,
    subscriptionId: string,
    query: { limit: number; cursor: string | null; status?: EventDeliveryStatus },
    min: number | '-inf',
  ): Promise<{ deliveries: EventDelivery[]; nextCursor: string | null }> {
    const cursor = query.cursor === null ? null : decodeLogCursor(query.cursor);
    const k = this.keys(application);
    const deliveries: EventDelivery[] = [];
    const max = cursor ? String(cursor.s) : '+inf';
    let offset = 0;
    let last: LogCursor | null = null;
    while (offset < MAX_EXAMINED_PER_PAGE) {
      const raw = await onRedis(
        this.redis.zrevrangebyscore(
          k.subscriptionDeliveries(subscriptionId),
          max,
          min,
          'WITHSCORES',
          'LIMIT',
          offset,
          BATCH,
        ),
      );
      if (raw.length === 0) return { deliveries, nextCursor: null };
      offset += raw.length / 2;
      const entries: LogCursor[] = [];
      for (let i = 0; i < raw.length; i += 2) {
        const entry = { id: raw[i]!, s: Number(raw[i + 1]) };
        // Same score as the cursor: members come in descending id order, so
        // everything down to the cursor's id was on an earlier page.
        if (cursor && entry.s === cursor.s && entry.id >= cursor.id) continue;
        entries.push(entry);
      }
      const states =
        entries.length > 0
          ? await onRedis(this.redis.hmget(k.subscriptionDeliveryRecords(subscriptionId), ...entries.map((e) => e.id)))
          : [];
      for (const [i, entry] of entries.entries()) {
        last = entry;
        const state = states[i];
        if (!state) continue; // trimmed between the two reads
        const delivery = parseState(state);
        if (query.status && delivery.status !== query.status) continue;
        deliveries.push(delivery);
        if (deliveries.length === query.limit) {
          const more = i < entries.length - 1 || raw.length / 2 === BATCH;
          return { deliveries, nextCursor: more ? encodeLogCursor(entry) : null };
        }
      }
      if (raw.length / 2 < BATCH) return { deliveries, nextCursor: null };
    }
    return { deliveries, nextCursor: last ? encodeLogCursor(last) : null };
  }

  /**
   * Deliveries first recorded at or after `sinceMs` with `status`, newest
   * first, at most `max` of them with their bodies (a bulk resend); `more`
   * when others match beyond those.
   */
  async since(
    application: string,
    subscriptionId: string,
    query: { sinceMs: number; status: EventDeliveryStatus; max: number },
  ): Promise<{ found: { delivery: EventDelivery; body: EventBody }[]; more: boolean }> {
    const found: { delivery: EventDelivery; body: EventBody }[] = [];
    let cursor: string | null = null;
    const k = this.keys(application);
    for (;;) {
      const page = await this.scan(
        application,
        subscriptionId,
        { limit: BATCH, cursor, status: query.status },
        query.sinceMs,
      );
      const bodies =
        page.deliveries.length > 0
          ? await onRedis(
              this.redis.hmget(
                k.subscriptionDeliveryRecords(subscriptionId),
                ...page.deliveries.map((d) => `${d.id}:body`),
              ),
            )
          : [];
      for (const [i, delivery] of page.deliveries.entries()) {
        if (found.length === query.max) return { found, more: true };
        const body = bodies[i];
        if (body) found.push({ delivery, body: JSON.parse(body) as EventBody });
      }
      if (!page.nextCursor) return { found, more: false };
      cursor = page.nextCursor;
    }
  }

  async failed(
    application: string,
    subscriptionId: string,
    nowMs: number,
    disableAfterMs: number,
  ): Promise<Subscription | null> {
    const k = this.keys(application);
    const [, since, exists] = (await execAll(
      this.redis
        .multi()
        .hsetnx(k.subscriptionHealth(), subscriptionId, nowMs)
        .hget(k.subscriptionHealth(), subscriptionId)
        .hexists(k.subscriptions(), subscriptionId),
    )) as [number, string | null, number];
    if (exists !== 1) {
      // Deleted meanwhile: leave no failing run behind.
      await onRedis(this.redis.hdel(k.subscriptionHealth(), subscriptionId));
      return null;
    }
    if (nowMs - Number(since ?? nowMs) < disableAfterMs) return null;
    return this.options.subscriptions.disableFailing(application, subscriptionId);
  }
}
