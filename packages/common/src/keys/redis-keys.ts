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
   * Hash: the job's state. Job ids are global (UUIDs); the hash names its
   * application. Every value of a small job's hash stays within Redis's
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
  /** Hash: one application (name, key hash, rate limit, signing secrets). Never expires. */
  applicationRecord(applicationId: string): string;
  /** Set of every application id. */
  applications(): string;
  /** String: application id, by SHA-256 (hex) of its API key. */
  apiKey(keyHash: string): string;
  /** Prefix of @fastify/rate-limit's counters. */
  rateLimitNamespace(): string;
  /**
   * Sorted set of every non-final job (and every final job whose callback is
   * still pending), of all applications, scored by the epoch ms by which it
   * must have progressed: its due time, its lease's end, its callback's due
   * time. Kept by the job scripts; the reconciler reads only its overdue head.
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
    quotaBytes: () => `${scope}:quota:bytes`,
    idempotency: (keyHash) => `${scope}:idem:${keyHash}`,
    applicationRecord: (id) => `${prefix}:application:${enc(id)}`,
    applications: () => `${prefix}:applications`,
    apiKey: (keyHash) => `${prefix}:apikey:${keyHash}`,
    rateLimitNamespace: () => `${prefix}:ratelimit:`,
    deadlines: () => `${prefix}:deadlines`,
    reconcilerLease: () => `${prefix}:reconciler:lease`,
    workers: () => `${prefix}:workers`,
    workerHeartbeat: (workerId) => `${prefix}:workers:${enc(workerId)}`,
  };
}
