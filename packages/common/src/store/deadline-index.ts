import type { Redis } from 'ioredis';
import type { CallbackState } from '../job-schema.js';
import { DEFAULT_APPLICATION, redisKeys } from '../keys/redis-keys.js';
import type { JobStatus } from '../status.js';
import { decodeCallbackState } from './callback-state.js';
import * as scripts from './job-scripts.js';
import { execAll, onRedis } from './redis-exec.js';

/**
 * The reconciler's view of the deadline indexes (RedisKeys.deadlines): the
 * job scripts keep them, this reads their overdue heads and re-scores what
 * was repaired. Reads cost one range per application plus one HMGET per
 * overdue job, never a scan.
 */

/** What the reconciler reads of a job: only the fields its decision needs. */
export interface DeadlineJob {
  status: JobStatus;
  attempts: number;
  /** Epoch ms; null when no lease is held. */
  leaseUntil: number | null;
  /** Epoch ms of the next attempt; null when none is scheduled. */
  nextAttemptAt: number | null;
  callback: CallbackState | null;
  application: string | null;
  seriesBase: number;
  requestId: string | null;
  replays: number;
}

export interface OverdueEntry {
  jobId: string;
  /** The application whose deadline index holds the entry. */
  application: string;
  /** The score: when the job should have progressed (epoch ms). */
  deadlineMs: number;
  /** Null when the job no longer exists (expired, deleted). */
  job: DeadlineJob | null;
}

const FIELDS = [
  'status',
  'attempts',
  'leaseUntil',
  'nextAttemptAt',
  'callback',
  'app',
  'seriesBase',
  'requestId',
  'replays',
] as const;

function numberOrNull(value: string | null): number | null {
  if (value === null || value === '') return null;
  const n = Number(value);
  return Number.isFinite(n) ? n : Date.parse(value) || null;
}

export function parseDeadlineJob(values: (string | null)[]): DeadlineJob | null {
  const [status, attempts, leaseUntil, nextAttemptAt, callback, app, seriesBase, requestId, replays] = values;
  if (!status) return null;
  return {
    status: status as JobStatus,
    attempts: Number(attempts ?? 0),
    leaseUntil: numberOrNull(leaseUntil ?? null),
    nextAttemptAt: nextAttemptAt ? Date.parse(nextAttemptAt) || null : null,
    callback: decodeCallbackState(callback),
    application: app || null,
    seriesBase: Number(seriesBase ?? 0),
    requestId: requestId || null,
    replays: Number(replays ?? 0),
  };
}

/**
 * One index per application, in the application's slot (Redis Cluster), so
 * the job scripts keep it in the same script as the job. The reconciler reads
 * every application's index: the default application's and those of the
 * application set; revoked applications stay in that set, so their jobs are
 * still repaired. A sweep costs one small range query per application, sent
 * at once (docs/architecture.md, "Redis slot layout").
 */
export class DeadlineIndex {
  private readonly leaseKey: string;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {
    this.leaseKey = redisKeys(prefix).reconcilerLease();
  }

  private async applications(): Promise<string[]> {
    const ids = await onRedis(this.redis.smembers(redisKeys(this.prefix).applications()));
    return [DEFAULT_APPLICATION, ...ids.filter((id) => id !== DEFAULT_APPLICATION)];
  }

  /** Up to `limit` jobs whose deadline is at or before `beforeMs`, oldest first, with their fields. */
  async overdue(beforeMs: number, limit: number): Promise<OverdueEntry[]> {
    const perApplication = await Promise.all(
      (await this.applications()).map((application) => this.overdueOf(application, beforeMs, limit)),
    );
    return perApplication
      .flat()
      .sort((a, b) => a.deadlineMs - b.deadlineMs)
      .slice(0, limit);
  }

  private async overdueOf(application: string, beforeMs: number, limit: number): Promise<OverdueEntry[]> {
    const keys = redisKeys(this.prefix, application);
    const flat = await onRedis(
      this.redis.zrangebyscore(keys.deadlines(), '-inf', beforeMs, 'WITHSCORES', 'LIMIT', 0, limit),
    );
    const ids: { jobId: string; application: string; deadlineMs: number }[] = [];
    for (let i = 0; i < flat.length; i += 2) ids.push({ jobId: flat[i]!, application, deadlineMs: Number(flat[i + 1]) });
    if (ids.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const { jobId } of ids) pipeline.hmget(keys.job(jobId), ...FIELDS);
    const results = await execAll(pipeline);
    return ids.map((e, i) => ({ ...e, job: parseDeadlineJob(results[i] as (string | null)[]) }));
  }

  /** Moves a job's deadline, only if it is still in the index (a script may have removed it meanwhile). */
  async postpone(entry: { jobId: string; application: string }, deadlineMs: number): Promise<void> {
    const key = redisKeys(this.prefix, entry.application).deadlines();
    await onRedis(this.redis.zadd(key, 'XX', deadlineMs, entry.jobId));
  }

  /**
   * Removes a job with nothing pending (gone, or final with its callback
   * settled). Only a replay re-indexes such a job, and a replay publishes its
   * own message, so losing that race costs a repair, not a job.
   */
  async remove(entry: { jobId: string; application: string }): Promise<void> {
    await onRedis(this.redis.zrem(redisKeys(this.prefix, entry.application).deadlines(), entry.jobId));
  }

  /** Takes or renews the reconciler's lease for `token`; whether it holds it now. */
  async holdLease(token: string, ttlMs: number): Promise<boolean> {
    return scripts.reconcilerLease(this.redis, { keys: { lease: this.leaseKey }, token, ttlMs });
  }

  /** Gives the lease up if `token` holds it (on shutdown), so another worker takes over at once. */
  async releaseLease(token: string): Promise<void> {
    const held = await onRedis(this.redis.get(this.leaseKey));
    if (held === token) await onRedis(this.redis.del(this.leaseKey));
  }

  /** Count of jobs in every application's index (a gauge for operators). */
  async size(): Promise<number> {
    const sizes = await Promise.all(
      (await this.applications()).map((a) => onRedis(this.redis.zcard(redisKeys(this.prefix, a).deadlines()))),
    );
    return sizes.reduce((sum, n) => sum + n, 0);
  }
}
