import type { Redis } from 'ioredis';
import type { Attempt, JobView } from '../job-schema.js';
import { DEFAULT_APPLICATION, type RedisKeys } from '../keys/redis-keys.js';
import { LISTED_FIELDS } from './job-fields.js';
import { parseAttempts, toView, withSpec } from './job-views.js';
import { execAll, onRedis } from './redis-exec.js';

/**
 * The job store's read paths, kept cheap however large a job is: listing
 * reads only the listed fields of each hash (never a spec, up to 1 MiB), the
 * attempts page reads one range of the capped log, and a job's view embeds
 * only the newest attempts.
 */

/** How many entries of the attempt log GET /api/job/:id embeds (the newest). */
export const EMBEDDED_ATTEMPTS = 100;

/** Whether a raw job hash belongs to `application` (no `app` field: the default one). */
export function ownedBy(job: Record<string, string | null | undefined>, application: string): boolean {
  return (job.app || DEFAULT_APPLICATION) === application;
}

export interface AttemptsPage {
  attempts: Attempt[];
  /** Attempts recorded in all, dropped ones included. */
  total: number;
  /** The oldest attempts dropped to keep ATTEMPT_LOG_MAX (hash field logDropped). */
  dropped: number;
}

/**
 * Attempts `offset + 1` to `offset + limit` of those still kept: the log
 * holds attempt n at index n - 1 - dropped (lua/record-attempt.lua), so a
 * page below `dropped` comes back empty, with the totals that say why.
 */
export async function readAttemptsPage(
  redis: Redis,
  keys: RedisKeys,
  jobId: string,
  offset: number,
  limit: number,
): Promise<AttemptsPage | null> {
  const key = keys.attempts(jobId);
  const [job, length] = await execAll(redis.pipeline().hmget(keys.job(jobId), 'status', 'app', 'logDropped').llen(key));
  const [status, app, logDropped] = job as (string | null)[];
  if (!status || !ownedBy({ app }, keys.application)) return null;
  const dropped = Number(logDropped ?? 0);
  const last = offset + limit - 1 - dropped;
  const values = last < 0 ? [] : await onRedis(redis.lrange(key, Math.max(0, offset - dropped), last));
  return { attempts: parseAttempts(values), total: dropped + (length as number), dropped };
}

/**
 * The listed fields (LISTED_FIELDS) of many jobs' hashes in one pipeline,
 * null where missing or another application's. No spec is read.
 */
export async function readListedHashes(
  redis: Redis,
  keys: RedisKeys,
  jobIds: string[],
): Promise<(Record<string, string> | null)[]> {
  if (jobIds.length === 0) return [];
  const pipeline = redis.pipeline();
  for (const id of jobIds) pipeline.hmget(keys.job(id), ...LISTED_FIELDS);
  return (await execAll(pipeline)).map((values) => {
    const h: Record<string, string> = {};
    (values as (string | null)[]).forEach((v, i) => {
      if (v !== null) h[LISTED_FIELDS[i]!] = v;
    });
    return h.status && ownedBy(h, keys.application) ? h : null;
  });
}

/**
 * The job as the API shows it: hash, spec and the newest EMBEDDED_ATTEMPTS
 * attempts in one pipeline; null when there is no such job (or it expired),
 * or it is another application's.
 */
export async function readJobView(redis: Redis, keys: RedisKeys, jobId: string): Promise<JobView | null> {
  const results = await execAll(
    redis
      .pipeline()
      .hgetall(keys.job(jobId))
      .get(keys.jobSpec(jobId))
      .lrange(keys.attempts(jobId), -EMBEDDED_ATTEMPTS, -1)
      .llen(keys.attempts(jobId)),
  );
  const job = withSpec(results[0] as Record<string, string>, results[1] as string | null);
  if (!job || !ownedBy(job, keys.application)) return null;
  return toView(jobId, job, parseAttempts(results[2] as string[]), results[3] as number);
}
