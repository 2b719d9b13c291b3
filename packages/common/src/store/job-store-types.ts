import type { Redis } from 'ioredis';
import type { IndexRefreshGate } from './index-refresh.js';
import type { ReplicaGate } from './replica-gate.js';
import type { QuotaLimits } from '../quotas.js';
import type { Attempt, CallbackState, JobSpec, Webhooks } from '../job-schema.js';
import type { HeaderRedactor } from '../redact.js';
import type { SecretKeys } from '../secrets.js';
import type { JobStatus } from '../status.js';

/** Result of trying to start an attempt; see lua/begin-attempt.lua. */
/**
 * `webhooks`: the job's stored webhooks map (set after submission), which
 * replaces the spec's; null when there is none.
 */
export type BeginResult =
  | { outcome: 'run'; attemptsDone: number; webhooks: Webhooks | null }
  | { outcome: 'missing' }
  | {
      outcome: 'final';
      status: JobStatus;
      attemptsDone: number;
      webhooks: Webhooks | null;
      /** The attempt begin-attempt ended the job cancelled before; null when it did not. */
      cancelledBefore: number | null;
    }
  | {
      outcome: 'stale';
      status: JobStatus;
      attemptsDone: number;
      nextAttemptAt: string | null;
      scheduled: number;
      webhooks: Webhooks | null;
    }
  | { outcome: 'cancelled'; attemptsDone: number; webhooks: Webhooks | null }
  | { outcome: 'busy'; status: JobStatus; attemptsDone: number; leaseRemainingMs: number };

export interface AttemptRecord {
  attempt: Attempt;
  /** State of the job after this attempt, as the worker decided it. */
  status: JobStatus;
  nextAttemptAt: string | null;
  /** Callback state to set if the job ends (null when it has no callback). */
  callback: CallbackState | null;
  /** The job was published to the dead-letter exchange. */
  deadLettered: boolean;
}

export type CancelResult =
  | { outcome: 'cancelled' }
  | { outcome: 'requested' }
  | { outcome: 'final'; status: JobStatus }
  | { outcome: 'missing' };

export type ReplayResult =
  { outcome: 'ok'; attemptsDone: number } | { outcome: 'conflict'; status: JobStatus } | { outcome: 'missing' };

export interface CreateJobInput {
  jobId: string;
  spec: JobSpec;
  createdAt: Date;
  requestId: string | null;
  traceId: string;
}

/** What a replay needs: the full spec (credentials unsealed) and the job's identity. */
export interface ReplaySource {
  spec: JobSpec;
  createdAt: string;
  traceId: string;
  /** The job had credential headers that cannot be restored (no RELAY_SECRET_KEY when it was stored). */
  missingSecrets: boolean;
}

/**
 * The jobs of one application (`keys.application`): its jobs' records, its
 * indexes and its counters. A job of another application reads as missing.
 * `forApplication` gives the store of another application on the same
 * connection.
 */
export interface JobStoreOptions {
  /** RELAY_PREFIX: every key starts with it. */
  prefix: string;
  /** Whose jobs. @defaultValue DEFAULT_APPLICATION */
  application?: string;
  /** JOB_TTL_SECONDS: how long a job lives after its last write. */
  ttlSeconds: number;
  /** RELAY_SECRET_KEY, or '' to keep credentials out of Redis entirely. @defaultValue '' */
  secretKey?: string | SecretKeys;
  /** Which headers are credentials (RELAY_REDACT_HEADERS). @defaultValue the built-in list */
  redactor?: HeaderRedactor;
  /** ATTEMPT_LOG_MAX: most entries one job's attempt log keeps. @defaultValue DEFAULT_ATTEMPT_LOG_MAX */
  attemptLogMax?: number;
  /**
   * The server-wide quotas (quotas.ts), checked by create for applications
   * whose record leaves one empty; absent = jobs are stored unchecked.
   * The default application (RELAY_AUTH=off) has no record: these apply to it.
   */
  quotas?: QuotaLimits;
  /**
   * REDIS_WAIT_REPLICAS: replicas that must have a new job before create
   * returns (Redis WAIT); fewer within waitTimeoutMs and create removes the
   * job and throws ServiceUnavailableError. @defaultValue 0 (no wait)
   */
  waitReplicas?: number;
  /** REDIS_WAIT_TIMEOUT_MS. @defaultValue 500 */
  waitTimeoutMs?: number;
  /**
   * The connection create writes and WAITs on when waitReplicas > 0. WAIT
   * blocks its connection until the replicas answer or the timeout passes,
   * so it gets one of its own: reads, authentication and the worker's
   * scripts do not queue behind it. @defaultValue the store's connection
   */
  intakeRedis?: Redis;
  /** Shared by forApplication; built from waitTimeoutMs when absent (replica-gate.ts). */
  replicaGate?: ReplicaGate;
  /** Shared by forApplication; a new one (cleared whenever the connection is ready) when absent (index-refresh.ts). */
  indexRefresh?: IndexRefreshGate;
}

/** Most entries of an attempt log when no ATTEMPT_LOG_MAX is given (the config's default). */
export const DEFAULT_ATTEMPT_LOG_MAX = 100;
