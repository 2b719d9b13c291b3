import { createHash, randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Application, Quotas, RateLimit } from '../application-schema.js';
import type { JobPriority } from '../status.js';
import { redisKeys, type RedisKeys } from '../keys/redis-keys.js';
import { sealJson, signingSecretAad, unsealJson, type SecretKeys } from '../secrets.js';
import { runScript } from './lua-loader.js';
import { onRedis } from './redis-exec.js';

/**
 * Applications in Redis: one hash per application (never expires, in the
 * application's slot), a set of all ids, and `apikey:<sha256>` -> id for
 * authentication. The three live in different slots (Redis Cluster), so no
 * write spans them: each is written on its own, in an order that leaves
 * nothing usable half-made when a write fails (see create and revoke). The API key itself
 * is never stored. Signing secrets must be usable by the worker, so they are
 * stored: a JSON list of {secret, createdAt, expiresAt}, each secret sealed
 * with RELAY_SECRET_KEY when one is configured. A failure of Redis throws
 * ServiceUnavailableError (redis-exec.ts).
 */

/** A Standard Webhooks signing secret and its validity. */
export interface SigningSecret {
  /** `whsec_` + base64 of the key bytes. */
  secret: string;
  createdAt: string;
  /** When a rotated-out secret stops signing; null for the current one. */
  expiresAt: string | null;
}

/** Who a request authenticated as (RELAY_AUTH=off: the default application). */
export interface AuthenticatedApplication {
  id: string;
  rateLimit: RateLimit | null;
}

export function hashApiKey(apiKey: string): string {
  return createHash('sha256').update(apiKey, 'utf8').digest('hex');
}

/** 32 random bytes; the prefix lets secret scanners recognise a leaked key. */
function newApiKey(): string {
  return `rk_${randomBytes(32).toString('base64url')}`;
}

function newSigningSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

/** The record's hash fields of a quota change (create.lua reads them; '' = the server default). */
function quotaFields(quotas: Partial<Quotas> | undefined): Record<string, string> {
  const fields: Record<string, string> = {};
  if (!quotas) return fields;
  for (const name of ['maxUnfinishedJobs', 'maxStoredBytes', 'maxPriority'] as const) {
    const value = quotas[name];
    if (value !== undefined) fields[QUOTA_FIELDS[name]] = value === null ? '' : String(value);
  }
  return fields;
}

const QUOTA_FIELDS = {
  maxUnfinishedJobs: 'quotaMaxUnfinishedJobs',
  maxStoredBytes: 'quotaMaxStoredBytes',
  maxPriority: 'quotaMaxPriority',
} as const satisfies Record<keyof Quotas, string>;

function quotasOf(raw: Record<string, string>): Quotas {
  const num = (v: string | undefined) => (v ? Number(v) : null);
  return {
    maxUnfinishedJobs: num(raw[QUOTA_FIELDS.maxUnfinishedJobs]),
    maxStoredBytes: num(raw[QUOTA_FIELDS.maxStoredBytes]),
    maxPriority: (raw[QUOTA_FIELDS.maxPriority] || null) as JobPriority | null,
  };
}

function newApplicationId(): string {
  return `app_${randomBytes(12).toString('base64url')}`;
}

/** See lua/rotate-secret.lua; false for an unknown application. */
async function rotateSecretScript(
  redis: Redis,
  a: { keys: { application: string }; entryJson: string; expiresAt: string; now: string },
): Promise<boolean> {
  const args = [a.entryJson, a.expiresAt, a.now];
  return (await onRedis(runScript(redis, 'rotate-secret', [a.keys.application], args))) === 1;
}

export class ApplicationStore {
  private readonly keys: RedisKeys;
  private readonly secretKey: SecretKeys;

  constructor(
    readonly redis: Redis,
    options: { prefix: string; secretKey?: string | SecretKeys },
  ) {
    this.keys = redisKeys(options.prefix);
    const key = options.secretKey ?? '';
    this.secretKey = typeof key === 'string' ? { current: key } : key;
  }

  /** The stored form of one secret entry: sealed for application `id` when a key is set. */
  private sealEntry(entry: SigningSecret, id: string): SigningSecret {
    if (!this.secretKey.current) return entry;
    return { ...entry, secret: `sealed:${sealJson(entry.secret, this.secretKey, signingSecretAad(id))}` };
  }

  private unsealSecrets(raw: string | undefined | null, id: string): SigningSecret[] {
    if (!raw) return [];
    return (JSON.parse(raw) as SigningSecret[]).map((entry) => {
      if (!entry.secret.startsWith('sealed:')) return entry;
      if (!this.secretKey.current)
        throw new Error('signing secrets are sealed; RELAY_SECRET_KEY is needed to read them');
      const sealed = entry.secret.slice('sealed:'.length);
      return { ...entry, secret: unsealJson<string>(sealed, this.secretKey, signingSecretAad(id)) };
    });
  }

  /**
   * Creates an application; the only time its API key and first signing
   * secret are returned.
   */
  async create(input: {
    name: string;
    rateLimit?: RateLimit | null;
    signTargetRequests?: boolean;
    quotas?: Partial<Quotas>;
  }): Promise<{ application: Application; apiKey: string; signingSecret: string }> {
    const id = newApplicationId();
    const apiKey = newApiKey();
    const keyHash = hashApiKey(apiKey);
    const createdAt = new Date().toISOString();
    const signingSecret = newSigningSecret();
    // Record, then the set, then the key: until the last write succeeds the
    // key authenticates nothing, so a failure in between leaves at most an
    // application nobody holds a key to (listed, harmless), never a key
    // without its record.
    await onRedis(
      this.redis.hset(this.keys.applicationRecord(id), {
          id,
          name: input.name,
          createdAt,
          keyHash,
          revokedAt: '',
          rateLimit: input.rateLimit ? JSON.stringify(input.rateLimit) : '',
          signTargetRequests: input.signTargetRequests ? '1' : '0',
          signingSecrets: JSON.stringify([this.sealEntry({ secret: signingSecret, createdAt, expiresAt: null }, id)]),
          ...quotaFields(input.quotas),
      }),
    );
    await onRedis(this.redis.sadd(this.keys.applications(), id));
    await onRedis(this.redis.set(this.keys.apiKey(keyHash), id));
    const application = await this.get(id);
    return { application: application!, apiKey, signingSecret };
  }

  /** The application a key belongs to, or null (unknown or revoked key). */
  async authenticate(apiKey: string): Promise<AuthenticatedApplication | null> {
    // Two round trips, not one script: the key lookup is global and the
    // record lives in its application's slot, which a script on Redis Cluster
    // may not reach. A revoke between the two is seen by the second read.
    const id = await onRedis(this.redis.get(this.keys.apiKey(hashApiKey(apiKey))));
    if (!id) return null;
    const [revokedAt, rateLimit] = await onRedis(
      this.redis.hmget(this.keys.applicationRecord(id), 'revokedAt', 'rateLimit'),
    );
    if (revokedAt || revokedAt === null) return null;
    return { id, rateLimit: rateLimit ? (JSON.parse(rateLimit) as RateLimit) : null };
  }

  async get(id: string): Promise<Application | null> {
    const raw = await onRedis(this.redis.hgetall(this.keys.applicationRecord(id)));
    return raw.id ? this.toView(raw) : null;
  }

  /** Every application, revoked ones included, oldest first. */
  async list(): Promise<Application[]> {
    const ids = await onRedis(this.redis.smembers(this.keys.applications()));
    // One read per record, not one pipeline: records live in different slots.
    const results = await Promise.all(ids.map((id) => onRedis(this.redis.hgetall(this.keys.applicationRecord(id)))));
    return results
      .filter((raw) => raw.id)
      .map((raw) => this.toView(raw))
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  /**
   * Moves application records from the layout before hash tags
   * (`<prefix>:application:<id>`, JOB_LAYOUT_VERSION 1) to their
   * application's slot. Applications never expire, so unlike jobs they cannot
   * just age out. Idempotent; each record is copied, then the old key
   * deleted, so a failure in between leaves a copy that the next run
   * overwrites from the old key. Returns how many were moved.
   */
  async migrateRecords(prefix: string): Promise<number> {
    let moved = 0;
    for (const id of await this.ids()) {
      const old = `${prefix}:application:${encodeURIComponent(id)}`;
      const raw = await onRedis(this.redis.hgetall(old));
      if (!raw.id) continue;
      await onRedis(this.redis.hset(this.keys.applicationRecord(id), raw));
      await onRedis(this.redis.del(old));
      moved++;
    }
    return moved;
  }

  /** Every application id (for cluster-wide counters). */
  async ids(): Promise<string[]> {
    return onRedis(this.redis.smembers(this.keys.applications()));
  }

  async update(
    id: string,
    patch: { name?: string; rateLimit?: RateLimit | null; signTargetRequests?: boolean; quotas?: Partial<Quotas> },
  ): Promise<Application | null> {
    const key = this.keys.applicationRecord(id);
    if (!(await onRedis(this.redis.exists(key)))) return null;
    const fields: Record<string, string> = quotaFields(patch.quotas);
    if (patch.name !== undefined) fields.name = patch.name;
    if (patch.rateLimit !== undefined) fields.rateLimit = patch.rateLimit ? JSON.stringify(patch.rateLimit) : '';
    if (patch.signTargetRequests !== undefined) fields.signTargetRequests = patch.signTargetRequests ? '1' : '0';
    await onRedis(this.redis.hset(key, fields));
    return this.get(id);
  }

  /**
   * Revokes the application's key at once (its hash index is deleted, so the
   * next request with it fails). The record stays, marked revoked; its jobs
   * run to the end and expire as usual.
   */
  async revoke(id: string): Promise<Application | null> {
    const key = this.keys.applicationRecord(id);
    const [keyHash, revokedAt] = await onRedis(this.redis.hmget(key, 'keyHash', 'revokedAt'));
    if (!keyHash) return null;
    if (!revokedAt) {
      // The key first (global slot), then the mark: once the first write
      // succeeds the key is dead; a failure before the mark leaves the record
      // unmarked, and revoking again finishes it.
      await onRedis(this.redis.del(this.keys.apiKey(keyHash)));
      await onRedis(this.redis.hset(key, 'revokedAt', new Date().toISOString()));
    }
    return this.get(id);
  }

  /**
   * Adds a new signing secret; the current one keeps signing for
   * `graceSeconds` more, so receivers can switch without missing a delivery.
   */
  async rotateSigningSecret(
    id: string,
    graceSeconds: number,
  ): Promise<{ signingSecret: string; application: Application } | null> {
    const now = new Date();
    const signingSecret = newSigningSecret();
    const entry = this.sealEntry({ secret: signingSecret, createdAt: now.toISOString(), expiresAt: null }, id);
    const rotated = await rotateSecretScript(this.redis, {
      keys: { application: this.keys.applicationRecord(id) },
      entryJson: JSON.stringify(entry),
      expiresAt: new Date(now.getTime() + graceSeconds * 1000).toISOString(),
      now: now.toISOString(),
    });
    if (!rotated) return null;
    return { signingSecret, application: (await this.get(id))! };
  }

  /**
   * The secrets that sign deliveries for `id` now, newest first, and whether
   * target requests are signed too. Null for an unknown application.
   */
  async signing(id: string): Promise<{ secrets: string[]; signTargetRequests: boolean } | null> {
    const [raw, signTarget] = await onRedis(
      this.redis.hmget(this.keys.applicationRecord(id), 'signingSecrets', 'signTargetRequests'),
    );
    if (raw === null) return null;
    return {
      secrets: activeSecrets(this.unsealSecrets(raw, id), new Date()).map((s) => s.secret),
      signTargetRequests: signTarget === '1',
    };
  }

  private toView(raw: Record<string, string>): Application {
    return {
      id: raw.id!,
      name: raw.name ?? '',
      createdAt: raw.createdAt ?? '',
      revokedAt: raw.revokedAt || null,
      rateLimit: raw.rateLimit ? (JSON.parse(raw.rateLimit) as RateLimit) : null,
      signTargetRequests: raw.signTargetRequests === '1',
      signingSecrets: activeSecrets(this.unsealSecrets(raw.signingSecrets, raw.id!), new Date()).map(
        ({ createdAt, expiresAt }) => ({ createdAt, expiresAt }),
      ),
      quotas: quotasOf(raw),
    };
  }
}

/** Secrets still valid at `now`, newest first. Pure. */
export function activeSecrets(secrets: SigningSecret[], now: Date): SigningSecret[] {
  return secrets
    .filter((s) => s.expiresAt === null || Date.parse(s.expiresAt) > now.getTime())
    .sort((a, b) => b.createdAt.localeCompare(a.createdAt));
}
