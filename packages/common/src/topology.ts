/**
 * Every Redis key and RabbitMQ queue name relay uses is built here, from one
 * configurable prefix, so that deployments can share servers and each test can
 * isolate itself with a random prefix.
 */

/**
 * The application that owns jobs submitted without authentication
 * (RELAY_AUTH=off) and jobs stored before applications existed.
 */
export const DEFAULT_APPLICATION = 'default';

export interface RedisKeys {
  /** The application whose indexes and counters these keys address. */
  readonly application: string;
  /**
   * Hash: the job's state. Job ids are global (UUIDs); the hash names its
   * application. Every value of a small job's hash stays within Redis's
   * listpack limit (64 bytes by default), so Redis packs it instead of
   * building a hashtable (424 vs 1,312 bytes for the benchmark's job): the
   * long, immutable spec lives in its own key, and the callback state is
   * stored compactly.
   */
  job(jobId: string): string;
  /** String: the job's spec as JSON (credential headers redacted). Never changes; expires with the hash. */
  jobSpec(jobId: string): string;
  /**
   * List: the attempt log, attempt n at index n - 1 (JSON; '' fills the gap
   * left by attempts whose record was lost). A list rather than a hash: its
   * entries pack without per-entry overhead, and pages are LRANGEs.
   */
  attempts(jobId: string): string;
  /**
   * Sorted sets of job ids scored by creation time (ms), for listing newest
   * first without scanning the keyspace. Each expires with the jobs in it.
   * One set of indexes per application, so a listing never sees another
   * application's jobs.
   */
  indexAll(): string;
  indexStatus(status: string): string;
  /** Prefix of the status indexes, for Lua scripts that move a job between them. */
  indexStatusPrefix(): string;
  indexHost(host: string): string;
  indexMetadata(key: string, value: string): string;
  /** Dead-lettered jobs, scored by the time they were dead-lettered. */
  indexDead(): string;
  /** Hash of the application's counters (jobs_created, jobs_success, ...). */
  counters(): string;
  /** String: an Idempotency-Key's state (by SHA-256 of the key), kept 24 h. */
  idempotency(keyHash: string): string;
  /** Hash: one application (name, key hash, rate limit, signing secrets). Never expires. */
  applicationRecord(applicationId: string): string;
  /** Set of every application id. */
  applications(): string;
  /** String: application id, by SHA-256 (hex) of its API key. */
  apiKey(keyHash: string): string;
  /** Prefix of @fastify/rate-limit's counters. */
  rateLimitNamespace(): string;
}

export function redisKeys(prefix: string, application: string = DEFAULT_APPLICATION): RedisKeys {
  // Values come from clients: encode them so that ':' or spaces cannot make
  // two different (key, value) pairs share an index key.
  const enc = encodeURIComponent;
  const scope = `${prefix}:app:${enc(application)}`;
  return {
    application,
    job: (jobId) => `${prefix}:job:${jobId}`,
    jobSpec: (jobId) => `${prefix}:job:${jobId}:spec`,
    attempts: (jobId) => `${prefix}:job:${jobId}:log`,
    indexAll: () => `${scope}:idx:all`,
    indexStatus: (status) => `${scope}:idx:status:${status}`,
    indexStatusPrefix: () => `${scope}:idx:status:`,
    indexHost: (host) => `${scope}:idx:host:${enc(host.toLowerCase())}`,
    indexMetadata: (key, value) => `${scope}:idx:meta:${enc(key)}:${enc(value)}`,
    indexDead: () => `${scope}:idx:dead`,
    counters: () => `${scope}:counters`,
    idempotency: (keyHash) => `${scope}:idem:${keyHash}`,
    applicationRecord: (id) => `${prefix}:application:${enc(id)}`,
    applications: () => `${prefix}:applications`,
    apiKey: (keyHash) => `${prefix}:apikey:${keyHash}`,
    rateLimitNamespace: () => `${prefix}:ratelimit:`,
  };
}

/**
 * Delay tiers for scheduled retries: one durable queue per tier with a fixed
 * per-queue TTL that dead-letters into the work queue. A per-queue TTL keeps
 * each tier FIFO with a constant delay, so expiry never waits behind a longer
 * message (the head-of-line problem of per-message TTLs). A delay is made of
 * hops through the largest tier that still fits; see `planDelayHop`.
 * Tiers double from 10 ms to ~43 min.
 */
export const DELAY_TIERS_MS: readonly number[] = Array.from({ length: 19 }, (_, i) => 10 * 2 ** i);

/** Below this, a message is processed now instead of taking another hop. */
export const DELAY_TOLERANCE_MS = 10;

/**
 * RabbitMQ priority of each job priority on the work queue. A small range on
 * purpose: RabbitMQ keeps one sub-queue per level, so few levels cost least.
 */
export const MAX_PRIORITY = 3;
export const PRIORITY_LEVELS = { high: 3, normal: 2, low: 1 } as const;

export interface QueueNames {
  /** Work queue: attempts and callback deliveries that are due. */
  work: string;
  /** Fanout exchange that failed jobs (and undecodable messages) are dead-lettered to. */
  deadLetterExchange: string;
  /** Durable queue bound to the dead-letter exchange: the archive of dead letters. */
  deadLetters: string;
  /** The delay queue of one tier. */
  delay(tierMs: number): string;
  /** Every delay tier's queue name (for clean-up). */
  allDelay(): string[];
}

export function queueNames(prefix: string): QueueNames {
  const delay = (tierMs: number) => `${prefix}.delay.${tierMs}ms`;
  return {
    work: `${prefix}.work`,
    deadLetterExchange: `${prefix}.dead-letter`,
    deadLetters: `${prefix}.dead-letters`,
    delay,
    allDelay: () => DELAY_TIERS_MS.map(delay),
  };
}

/**
 * Which tier to wait in next for a message due in `remainingMs`, or null when
 * it is due now (within DELAY_TOLERANCE_MS). Pure.
 */
export function planDelayHop(remainingMs: number): number | null {
  if (remainingMs <= DELAY_TOLERANCE_MS) return null;
  let chosen = DELAY_TIERS_MS[0]!;
  for (const tier of DELAY_TIERS_MS) {
    if (tier <= remainingMs) chosen = tier;
    else break;
  }
  return chosen;
}
