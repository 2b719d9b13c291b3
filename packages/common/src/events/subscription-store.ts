import type { Redis } from 'ioredis';
import { RelayError } from '../errors.js';
import { redisKeys, type RedisKeys } from '../keys/redis-keys.js';
import { randomHex } from '../random-hex.js';
import { sealJson, subscriptionHeadersAad, unsealJson, type SecretKeys } from '../secrets.js';
import { runScript } from '../store/lua-loader.js';
import { execAll, onRedis } from '../store/redis-exec.js';
import {
  SubscriptionLimits,
  type Subscription,
  type SubscriptionCreate,
  type SubscriptionPatch,
} from './subscription-schema.js';

/**
 * An application's event subscriptions in Redis: one hash, id -> JSON (never
 * expires), and a version counter bumped in the same step as every change
 * (lua/subscription-write.lua, or the MULTI of a delete), which
 * subscription-cache.ts polls to know when to rebuild its index. The start
 * of a failing run lives in the health hash, not in the JSON: it changes on
 * deliveries, which must not move the version. A failure of Redis throws
 * ServiceUnavailableError (store/redis-exec.ts).
 */

/** The view without failingSince (read from the health hash). */
type StoredSubscription = Omit<Subscription, 'failingSince'>;

/**
 * What the hash holds: a StoredSubscription whose custom headers, when
 * RELAY_SECRET_KEY is set and there are any, are sealed in `sealedHeaders`
 * (bound to the application and the subscription) and `headers` is empty.
 * They usually carry the receiver's credentials, and Redis keeps them for
 * as long as the subscription lives. A record written without the key keeps
 * them in clear until its next change.
 */
type RestingSubscription = StoredSubscription & { sealedHeaders?: string };

export interface SubscriptionSnapshot {
  /** The version counter when the list was read (0: never changed). */
  version: number;
  subscriptions: Subscription[];
}

export interface SubscriptionStoreOptions {
  prefix: string;
  /** @defaultValue SubscriptionLimits.maxPerApplication */
  maxPerApplication?: number;
  /** @defaultValue () => new Date() */
  now?: () => Date;
  /** RELAY_SECRET_KEY (and the previous keys): custom headers rest sealed when set. */
  secretKey?: SecretKeys;
}

type WriteReply = 'ok' | 'missing' | 'conflict' | 'exists' | 'limit';

/** A compare-and-set reads again at most this often before giving up (only under a storm of changes to one subscription). */
const CAS_TRIES = 10;

export function newSubscriptionId(): string {
  return `sub_${randomHex(12)}`;
}

function toView(stored: StoredSubscription, failingSinceMs: string | null | undefined): Subscription {
  const ms = failingSinceMs ? Number(failingSinceMs) : NaN;
  return { ...stored, failingSince: Number.isFinite(ms) ? new Date(ms).toISOString() : null };
}

/** Oldest first, then by id: the order of the list route. */
function byCreation(a: Subscription, b: Subscription): number {
  return a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

export class SubscriptionStore {
  private readonly max: number;
  private readonly now: () => Date;

  constructor(
    readonly redis: Redis,
    private readonly options: SubscriptionStoreOptions,
  ) {
    this.max = options.maxPerApplication ?? SubscriptionLimits.maxPerApplication;
    this.now = options.now ?? (() => new Date());
  }

  keys(application: string): RedisKeys {
    return redisKeys(this.options.prefix, application);
  }

  /** The JSON the hash holds for `stored`: its headers sealed when a key is set. */
  private encode(stored: StoredSubscription): string {
    const key = this.options.secretKey;
    if (!key?.current || Object.keys(stored.headers).length === 0) return JSON.stringify(stored);
    const aad = subscriptionHeadersAad(stored.application, stored.id);
    const resting: RestingSubscription = { ...stored, headers: {}, sealedHeaders: sealJson(stored.headers, key, aad) };
    return JSON.stringify(resting);
  }

  /** The subscription the hash's JSON holds, its headers opened. */
  private decode(raw: string): StoredSubscription {
    const { sealedHeaders, ...stored } = JSON.parse(raw) as RestingSubscription;
    if (sealedHeaders === undefined) return stored;
    const key = this.options.secretKey;
    if (!key?.current) throw new Error('subscription headers are sealed; RELAY_SECRET_KEY is needed to read them');
    const aad = subscriptionHeadersAad(stored.application, stored.id);
    return { ...stored, headers: unsealJson<Record<string, string>>(sealedHeaders, key, aad) };
  }

  private write(
    application: string,
    id: string,
    json: string,
    expected: string,
    clearHealth = false,
  ): Promise<WriteReply> {
    const k = this.keys(application);
    return onRedis(
      runScript(
        this.redis,
        'subscription-write',
        [k.subscriptions(), k.subscriptionsVersion(), k.subscriptionHealth()],
        [id, json, expected, this.max, clearHealth ? '1' : '0'],
      ),
    ) as Promise<WriteReply>;
  }

  /** Creates a subscription; throws SUBSCRIPTION_LIMIT when the application has `maxPerApplication`. */
  async create(application: string, input: SubscriptionCreate): Promise<Subscription> {
    const now = this.now().toISOString();
    const enabled = input.enabled ?? true;
    const stored: StoredSubscription = {
      id: newSubscriptionId(),
      application,
      name: input.name,
      url: input.url,
      events: input.events,
      filters: input.filters ?? {},
      headers: input.headers ?? {},
      enabled,
      disabledReason: enabled ? null : 'manual',
      disabledAt: enabled ? null : now,
      createdAt: now,
      updatedAt: now,
    };
    const reply = await this.write(application, stored.id, this.encode(stored), '');
    if (reply === 'limit') {
      throw new RelayError('SUBSCRIPTION_LIMIT', {
        message: `An application may have at most ${this.max} subscriptions`,
        details: [{ path: '/subscriptions', message: `at most ${this.max}` }],
      });
    }
    if (reply !== 'ok') throw new Error(`subscription-write answered ${reply} to a create`);
    return toView(stored, null);
  }

  /** The stored JSON and the start of its failing run, or null. */
  private async read(application: string, id: string): Promise<{ raw: string; since: string | null } | null> {
    const k = this.keys(application);
    const [raw, since] = (await execAll(
      this.redis.multi().hget(k.subscriptions(), id).hget(k.subscriptionHealth(), id),
    )) as [string | null, string | null];
    return raw ? { raw, since } : null;
  }

  async get(application: string, id: string): Promise<Subscription | null> {
    const found = await this.read(application, id);
    return found ? toView(this.decode(found.raw), found.since) : null;
  }

  /** Every subscription of the application, with the version it was read at (one MULTI). */
  async snapshot(application: string): Promise<SubscriptionSnapshot> {
    const k = this.keys(application);
    const [version, all, health] = (await execAll(
      this.redis.multi().get(k.subscriptionsVersion()).hgetall(k.subscriptions()).hgetall(k.subscriptionHealth()),
    )) as [string | null, Record<string, string>, Record<string, string>];
    const subscriptions = Object.entries(all)
      .map(([id, raw]) => toView(this.decode(raw), health[id]))
      .sort(byCreation);
    return { version: Number(version ?? 0), subscriptions };
  }

  /** The version counter alone: what a cache polls. */
  async version(application: string): Promise<number> {
    return Number((await onRedis(this.redis.get(this.keys(application).subscriptionsVersion()))) ?? 0);
  }

  async list(application: string): Promise<Subscription[]> {
    return (await this.snapshot(application)).subscriptions;
  }

  /**
   * Applies `change` to the stored subscription as a compare-and-set,
   * reading again when another writer came first. `change` returns null to
   * leave it as it is. Null when the subscription does not exist.
   */
  private async change(
    application: string,
    id: string,
    change: (
      current: StoredSubscription,
      failingSince: string | null,
    ) => { next: StoredSubscription; clearHealth: boolean } | null,
  ): Promise<{ subscription: Subscription; changed: boolean } | null> {
    for (let i = 0; i < CAS_TRIES; i++) {
      const found = await this.read(application, id);
      if (!found) return null;
      const current = this.decode(found.raw);
      const result = change(current, found.since);
      if (!result) return { subscription: toView(current, found.since), changed: false };
      const reply = await this.write(application, id, this.encode(result.next), found.raw, result.clearHealth);
      if (reply === 'missing') return null;
      if (reply === 'ok') {
        return { subscription: toView(result.next, result.clearHealth ? null : found.since), changed: true };
      }
    }
    throw new Error(`subscription ${id} kept changing under ${CAS_TRIES} compare-and-set tries`);
  }

  /**
   * Changes a subscription. `enabled: true` re-enables it and ends its
   * failing run; `enabled: false` disables an enabled one as 'manual'.
   */
  async update(application: string, id: string, patch: SubscriptionPatch): Promise<Subscription | null> {
    const result = await this.change(application, id, (current) => {
      const now = this.now().toISOString();
      const next: StoredSubscription = {
        ...current,
        ...(patch.name !== undefined ? { name: patch.name } : {}),
        ...(patch.url !== undefined ? { url: patch.url } : {}),
        ...(patch.events !== undefined ? { events: patch.events } : {}),
        ...(patch.filters !== undefined ? { filters: patch.filters } : {}),
        ...(patch.headers !== undefined ? { headers: patch.headers } : {}),
        updatedAt: now,
      };
      let clearHealth = false;
      if (patch.enabled === true) {
        Object.assign(next, { enabled: true, disabledReason: null, disabledAt: null });
        clearHealth = true;
      } else if (patch.enabled === false && current.enabled) {
        Object.assign(next, { enabled: false, disabledReason: 'manual', disabledAt: now });
      }
      return { next, clearHealth };
    });
    return result?.subscription ?? null;
  }

  /**
   * Disables an enabled subscription for failing (EndpointHealth). Returns
   * it only to the one caller whose write disabled it; null when it was
   * already disabled or is gone.
   */
  async disableFailing(application: string, id: string): Promise<Subscription | null> {
    const result = await this.change(application, id, (current) => {
      if (!current.enabled) return null;
      const now = this.now().toISOString();
      const next: StoredSubscription = {
        ...current,
        enabled: false,
        disabledReason: 'endpoint_failing',
        disabledAt: now,
        updatedAt: now,
      };
      return { next, clearHealth: false };
    });
    return result?.changed ? result.subscription : null;
  }

  /** Deletes a subscription with its failing run and its delivery log; false when it did not exist. */
  async delete(application: string, id: string): Promise<boolean> {
    const k = this.keys(application);
    const [removed] = (await execAll(
      this.redis
        .multi()
        .hdel(k.subscriptions(), id)
        .hdel(k.subscriptionHealth(), id)
        .del(k.subscriptionDeliveries(id), k.subscriptionDeliveryRecords(id))
        .incr(k.subscriptionsVersion()),
    )) as [number];
    return removed === 1;
  }
}
