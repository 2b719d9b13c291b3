/**
 * Every Redis key relay uses is built here, from one configurable prefix, so
 * that deployments can share a server and each test can isolate itself with a
 * random prefix.
 */

/**
 * The application that owns jobs submitted without authentication
 * (RELAY_AUTH=off). A job hash without an `app` field belongs to it.
 */
export const DEFAULT_APPLICATION = 'default';

export interface RedisKeys {
  /** The application whose indexes and counters these keys address. */
  readonly application: string;
  /**
   * Hash: the job's state. Job ids are global (UUIDs), but a job's keys live
   * in its application's scope (the hash tag), so a job is always read
   * through its application's store; the hash also names its application. Every value of a small job's hash stays within Redis's
   * listpack limit (`hash-max-listpack-value`), so Redis packs it instead of
   * building a hashtable, several times larger: the long, immutable spec lives
   * in its own key, and the callback state is stored compactly. The field `v`
   * is the layout version (JOB_LAYOUT_VERSION).
   */
  job(jobId: string): string;
  /** String: the job's spec as JSON (credential headers redacted). Never changes; expires with the hash. */
  jobSpec(jobId: string): string;
  /**
   * List: the attempt log, attempt n at index n - 1 - logDropped (JSON; ''
   * fills the gap left by attempts whose record was lost), at most
   * ATTEMPT_LOG_MAX entries: the hash field logDropped counts the oldest
   * dropped. A list rather than a hash: its entries pack without per-entry
   * overhead, and pages are LRANGEs.
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
  /** Hash: bytes of job specs stored, by time bucket (quotas.ts: the stored-bytes quota). */
  quotaBytes(): string;
  /** String: an Idempotency-Key's state (by SHA-256 of the key), kept 24 h. */
  idempotency(keyHash: string): string;
  /**
   * Hash: one application (name, key hash, rate limit, signing secrets,
   * quotas). Never expires. In its application's slot, so that create.lua
   * reads its quotas in the same slot as the job it stores.
   */
  applicationRecord(applicationId: string): string;
  /** Set of every application id. Global (its own slot). */
  applications(): string;
  /** String: application id, by SHA-256 (hex) of its API key. Global: looked up by the key alone. */
  apiKey(keyHash: string): string;
  /** Prefix of @fastify/rate-limit's counters. */
  rateLimitNamespace(): string;
  /**
   * String: requests refused for want of a valid key from one client IP in
   * the current fixed window (expires with the window). Shared by every
   * backend.
   */
  strangerCount(ip: string): string;
  /**
   * Sorted set of the application's non-final jobs (and final jobs whose
   * callback is still pending), scored by the epoch ms by which each must
   * have progressed: its due time, its lease's end, its callback's due time.
   * Kept by the job scripts in the application's slot; the reconciler reads
   * the overdue head of every application's set (deadline-index.ts).
   */
  deadlines(): string;
  /** String: the reconciler's lease (token of the worker whose reconciler is active). */
  reconcilerLease(): string;
  /**
   * Set of the ids of workers that have sent a heartbeat. Global, so no hash
   * tag; written and read with single-key commands only. Ids whose heartbeat
   * has expired are removed by the reader (the console's poller).
   */
  workers(): string;
  /** String: a worker's last heartbeat (JSON, console/heartbeat.ts), expiring soon after it stops sending. */
  workerHeartbeat(workerId: string): string;
  /** Hash: the application's event subscriptions, id to JSON (events/subscription-store.ts). Never expires. */
  subscriptions(): string;
  /**
   * String: a counter bumped on every change of the application's
   * subscriptions; processes keep an index in memory and rebuild it when the
   * counter moves (events/subscription-cache.ts).
   */
  subscriptionsVersion(): string;
  /** Hash: subscription id to the epoch ms its current run of failed deliveries began. */
  subscriptionHealth(): string;
  /** Sorted set: a subscription's delivery ids, scored by the epoch ms of each one's first record; trimmed to the job TTL. */
  subscriptionDeliveries(subscriptionId: string): string;
  /**
   * Hash: a subscription's deliveries: id to the state JSON (an
   * EventDelivery), and `<id>:body` to the body sent, kept for a resend
   * (events/delivery-log.ts).
   */
  subscriptionDeliveryRecords(subscriptionId: string): string;
}

/**
 * The slot layout (Redis Cluster): everything of one application (its jobs'
 * keys, indexes, counters, quota bytes, idempotency keys, deadline index and
 * its record) carries the hash tag `{app:<enc(application)>}`, so every job
 * script, MULTI and pipeline of the stores touches one slot. Only the
 * application set, the API-key lookups, the reconciler's lease and the rate
 * limit counters are global, each written on its own. encodeURIComponent
 * escapes `{` and `}`, so no application id can end the tag early; a prefix
 * holding a brace would set the tag itself and is refused here.
 * docs/architecture.md ("Redis slot layout") says what the layout costs.
 */
export function applicationScope(prefix: string, application: string): string {
  return `${prefix}:{app:${encodeURIComponent(application)}}`;
}

export function redisKeys(prefix: string, application: string = DEFAULT_APPLICATION): RedisKeys {
  if (/[{}]/.test(prefix)) throw new Error(`a Redis key prefix may not contain '{' or '}' (hash tags): ${prefix}`);
  // Values come from clients: encode them so that ':' or spaces cannot make
  // two different (key, value) pairs share an index key.
  const enc = encodeURIComponent;
  const scope = applicationScope(prefix, application);
  return {
    application,
    job: (jobId) => `${scope}:job:${jobId}`,
    jobSpec: (jobId) => `${scope}:job:${jobId}:spec`,
    attempts: (jobId) => `${scope}:job:${jobId}:log`,
    indexAll: () => `${scope}:idx:all`,
    indexStatus: (status) => `${scope}:idx:status:${status}`,
    indexStatusPrefix: () => `${scope}:idx:status:`,
    indexHost: (host) => `${scope}:idx:host:${enc(host.toLowerCase())}`,
    indexMetadata: (key, value) => `${scope}:idx:meta:${enc(key)}:${enc(value)}`,
    indexDead: () => `${scope}:idx:dead`,
    counters: () => `${scope}:counters`,
    quotaBytes: () => `${scope}:quota:bytes`,
    idempotency: (keyHash) => `${scope}:idem:${keyHash}`,
    applicationRecord: (id) => `${applicationScope(prefix, id)}:record`,
    applications: () => `${prefix}:applications`,
    apiKey: (keyHash) => `${prefix}:apikey:${keyHash}`,
    rateLimitNamespace: () => `${prefix}:ratelimit:`,
    strangerCount: (ip) => `${prefix}:stranger:${enc(ip)}`,
    deadlines: () => `${scope}:deadlines`,
    reconcilerLease: () => `${prefix}:reconciler:lease`,
    workers: () => `${prefix}:workers`,
    workerHeartbeat: (workerId) => `${prefix}:workers:${enc(workerId)}`,
    subscriptions: () => `${scope}:subs`,
    subscriptionsVersion: () => `${scope}:subs:version`,
    subscriptionHealth: () => `${scope}:subs:health`,
    subscriptionDeliveries: (id) => `${scope}:sub:${enc(id)}:deliveries`,
    subscriptionDeliveryRecords: (id) => `${scope}:sub:${enc(id)}:delivery`,
  };
}
