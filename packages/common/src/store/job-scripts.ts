import type { Redis } from 'ioredis';
import type { Webhooks } from '../job-schema.js';
import type { QuotaLimits, QuotaRefusal } from '../quotas.js';
import type { JobPriority, JobStatus } from '../status.js';
import type { BeginResult, CancelResult, ReplayResult } from './job-store-types.js';
import { runScript, runScriptThenWait, type ScriptName } from './lua-loader.js';
import { onRedis } from './redis-exec.js';

/**
 * Typed wrappers of the job store's Lua scripts (lua/*.lua): each takes named
 * arguments and puts them in the order the script's header documents. Every
 * script reads and changes a job atomically, and moves it between status
 * indexes in the same step, so an index never disagrees with the job for
 * longer than one script.
 */

/** What every script that touches a job's status needs to keep its indexes. */
interface Indexing {
  jobId: string;
  /** Prefix of the status index keys (RedisKeys.indexStatusPrefix). */
  statusPrefix: string;
  /** Lifetime of an index after its newest entry (s). */
  idxTtl: number;
  /** Drop entries of the indexes the script adds to that are scored below this; '' = no trim. */
  trimBefore: number | '';
}

function run(redis: Redis, name: ScriptName, keys: string[], args: (string | number)[]): Promise<unknown> {
  return onRedis(runScript(redis, name, keys, args));
}

export async function createJob(
  redis: Redis,
  a: {
    keys: { job: string; counters: string; spec: string; deadlines: string; indexes: string[] };
    ttlSeconds: number;
    /** '' = leave the indexes' lifetimes as they are (index-refresh.ts). */
    idxTtl: number | '';
    createdAtMs: number;
    jobId: string;
    /** Drop index entries scored below this; '' = no trim. */
    trimBefore: number | '';
    specJson: string;
    fields: Record<string, string | number>;
    /** The quotas to check (null: store unchecked). */
    quota: {
      recordKey: string;
      statusPrefix: string;
      bytesKey: string;
      defaults: QuotaLimits;
      priority: JobPriority;
      jobBytes: number;
      bucketMs: number;
    } | null;
    /** WAIT for this many replicas after the write (REDIS_WAIT_REPLICAS); null = do not wait. */
    wait: { replicas: number; timeoutMs: number } | null;
  },
): Promise<{ refusal: QuotaRefusal | null; replicas: number | null }> {
  const { keys, quota } = a;
  const scriptKeys = [keys.job, keys.counters, keys.spec, keys.deadlines, ...keys.indexes];
  const args = [
    a.ttlSeconds,
    a.idxTtl,
    a.createdAtMs,
    a.jobId,
    a.trimBefore,
    a.specJson,
    ...Object.entries(a.fields).flat(),
    quota ? '1' : '0',
    quota?.recordKey ?? '',
    quota?.statusPrefix ?? '',
    quota?.bytesKey ?? '',
    quota?.defaults.maxUnfinishedJobs ?? 0,
    quota?.defaults.maxStoredBytes ?? 0,
    quota?.defaults.maxPriority ?? '',
    quota?.priority ?? '',
    quota?.jobBytes ?? 0,
    quota?.bucketMs ?? 1,
  ];
  const [reply, replicas] = a.wait
    ? await onRedis(runScriptThenWait(redis, 'create', scriptKeys, args, a.wait))
    : [await run(redis, 'create', scriptKeys, args), null];
  return { refusal: quotaRefusal(reply), replicas };
}

function quotaRefusal(reply: unknown): QuotaRefusal | null {
  if (!Array.isArray(reply)) return null;
  const [name, limit, current] = reply as [string, string | number, string | number];
  if (name === 'maxPriority') {
    return { quota: 'maxPriority', limit: limit as JobPriority, requested: current as JobPriority };
  }
  return { quota: name as 'maxUnfinishedJobs' | 'maxStoredBytes', limit: Number(limit), current: Number(current) };
}

export async function beginAttempt(
  redis: Redis,
  a: Indexing & {
    keys: { job: string; indexAll: string; spec: string; deadlines: string; counters: string; attempts: string };
    attempt: number;
    leaseToken: string;
    leaseMs: number;
    now: string;
    ttlSeconds: number;
    /** Recreate a missing job from this; null = report it missing. */
    recreate: {
      specJson: string;
      createdAtMs: number;
      application: string;
      /** The summary fields of the hash (job-fields.ts). */
      fields: Record<string, string>;
    } | null;
    /** Stored callback state to set if the job ends cancelled; '' = none. */
    callback: string;
    /** Refresh the in_progress index's lifetime (index-refresh.ts). */
    refreshIndex: boolean;
  },
): Promise<BeginResult> {
  const { keys, recreate } = a;
  const reply = await run(
    redis,
    'begin-attempt',
    [keys.job, keys.indexAll, keys.spec, keys.deadlines, keys.counters, keys.attempts],
    [
      a.attempt,
      a.leaseToken,
      a.leaseMs,
      a.now,
      a.ttlSeconds,
      recreate?.specJson ?? '',
      recreate?.createdAtMs ?? 0,
      a.jobId,
      a.statusPrefix,
      a.idxTtl,
      recreate?.application ?? '',
      a.callback,
      a.trimBefore,
      a.refreshIndex ? '1' : '',
      ...Object.entries(recreate?.fields ?? {}).flat(),
    ],
  );
  const [outcome, status, done, extra, scheduled, webhooksJson, cancelledBefore] = reply as [
    string,
    JobStatus,
    number,
    (string | number)?,
    string?,
    string?,
    (string | number)?,
  ];
  const webhooks = storedWebhooks(webhooksJson);
  switch (outcome) {
    case 'missing':
      return { outcome: 'missing' };
    case 'run':
      return { outcome: 'run', attemptsDone: Number(done), webhooks };
    case 'final':
      return {
        outcome: 'final',
        status,
        attemptsDone: Number(done),
        webhooks,
        cancelledBefore: cancelledBefore ? Number(cancelledBefore) : null,
      };
    case 'stale':
      return {
        outcome: 'stale',
        status,
        attemptsDone: Number(done),
        nextAttemptAt: (extra as string) || null,
        scheduled: scheduled ? Number(scheduled) : 0,
        webhooks,
      };
    case 'cancelled':
      return { outcome: 'cancelled', attemptsDone: Number(done), webhooks };
    default:
      return { outcome: 'busy', status, attemptsDone: Number(done), leaseRemainingMs: Number(extra) };
  }
}

/**
 * The hash's `webhooks` field: the map set after submission, which replaces
 * the spec's. Null when absent (the spec's applies) or unreadable.
 */
function storedWebhooks(json: string | undefined): Webhooks | null {
  if (!json) return null;
  try {
    const value: unknown = JSON.parse(json);
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Webhooks) : null;
  } catch {
    return null;
  }
}

/**
 * What record-attempt did: `written` with the status it wrote, or not written
 * because the job had ended otherwise or a later attempt had moved it on
 * (`status` is then the job's own).
 */
export interface RecordResult {
  written: boolean;
  status: JobStatus;
}

export function recordAttempt(
  redis: Redis,
  a: Indexing & {
    keys: { job: string; attempts: string; counters: string; indexDead: string; spec: string; deadlines: string };
    attempt: number;
    attemptJson: string;
    status: string;
    nextAttemptAt: string;
    lastStatusCode: string;
    errorJson: string;
    /** Stored callback state to set if the job ends; '' = none. */
    callback: string;
    now: Date;
    ttlSeconds: number;
    deadLettered: boolean;
    /** Most entries the attempt log keeps (ATTEMPT_LOG_MAX). */
    logMax: number;
    /** Refresh the lifetime of the index of `status` (index-refresh.ts); other indexes are always refreshed. */
    refreshIndex: boolean;
  },
): Promise<RecordResult> {
  const { keys } = a;
  return run(
    redis,
    'record-attempt',
    [keys.job, keys.attempts, keys.counters, keys.indexDead, keys.spec, keys.deadlines],
    [
      a.attempt,
      a.attemptJson,
      a.status,
      a.nextAttemptAt,
      a.lastStatusCode,
      a.errorJson,
      a.callback,
      a.now.toISOString(),
      a.ttlSeconds,
      a.jobId,
      a.statusPrefix,
      a.idxTtl,
      a.deadLettered ? '1' : '0',
      a.now.getTime(),
      a.nextAttemptAt ? Date.parse(a.nextAttemptAt) : '',
      a.logMax,
      a.trimBefore,
      a.refreshIndex ? '1' : '',
    ],
  ).then((reply) => {
    const [outcome, status] = reply as [string, JobStatus];
    return { written: outcome === 'written', status };
  });
}

export async function cancelJob(
  redis: Redis,
  a: Indexing & {
    keys: { job: string; counters: string; spec: string; deadlines: string; attempts: string };
    now: string;
    ttlSeconds: number;
    /** Stored callback state; '' when the job has no callback. */
    pendingCallback: string;
  },
): Promise<CancelResult> {
  const { keys } = a;
  const [outcome, status] = (await run(
    redis,
    'cancel',
    [keys.job, keys.counters, keys.spec, keys.deadlines, keys.attempts],
    [a.now, a.ttlSeconds, a.jobId, a.statusPrefix, a.idxTtl, a.pendingCallback, Date.parse(a.now), a.trimBefore],
  )) as [string, JobStatus?];
  if (outcome === 'final') return { outcome, status: status! };
  return { outcome: outcome as 'cancelled' | 'requested' | 'missing' };
}

export async function replayJob(
  redis: Redis,
  a: Indexing & {
    keys: { job: string; indexDead: string; spec: string; deadlines: string; attempts: string };
    now: string;
    ttlSeconds: number;
    requestId: string;
  },
): Promise<ReplayResult> {
  const { keys } = a;
  const [outcome, value] = (await run(
    redis,
    'replay',
    [keys.job, keys.indexDead, keys.spec, keys.deadlines, keys.attempts],
    [a.now, a.ttlSeconds, a.jobId, a.statusPrefix, a.idxTtl, a.requestId, Date.parse(a.now), a.trimBefore],
  )) as [string, string?];
  if (outcome === 'ok') return { outcome, attemptsDone: Number(value) };
  if (outcome === 'conflict') return { outcome, status: value as JobStatus };
  return { outcome: 'missing' };
}

/** Whether the job was restored. */
export async function undoReplay(
  redis: Redis,
  a: Indexing & { keys: { job: string; indexDead: string; deadlines: string }; attempts: number },
): Promise<boolean> {
  const { keys } = a;
  const restored = await run(
    redis,
    'undo-replay',
    [keys.job, keys.indexDead, keys.deadlines],
    [a.attempts, a.jobId, a.statusPrefix, a.idxTtl, a.trimBefore],
  );
  return restored === 1;
}

export function setCallback(
  redis: Redis,
  a: {
    keys: { job: string; counters: string; spec: string; deadlines: string; attempts: string };
    jobId: string;
    callback: string;
    now: string;
    ttlSeconds: number;
    /** '' = none. */
    counter: string;
    /** When the next delivery is due (epoch ms); null = settled. */
    deadlineMs: number | null;
  },
): Promise<unknown> {
  const { keys } = a;
  return run(
    redis,
    'set-callback',
    [keys.job, keys.counters, keys.spec, keys.deadlines, keys.attempts],
    [a.callback, a.now, a.ttlSeconds, a.counter, a.jobId, a.deadlineMs ?? ''],
  );
}

/** Records that attempt `attempt` was published; whether the mark moved. */
export async function markScheduled(redis: Redis, a: { keys: { job: string }; attempt: number }): Promise<boolean> {
  return (await run(redis, 'mark-scheduled', [a.keys.job], [a.attempt])) === 1;
}

/** Takes or renews the reconciler's lease; whether `token` holds it now. */
export async function reconcilerLease(
  redis: Redis,
  a: { keys: { lease: string }; token: string; ttlMs: number },
): Promise<boolean> {
  return (await run(redis, 'reconciler-lease', [a.keys.lease], [a.token, a.ttlMs])) === 1;
}
