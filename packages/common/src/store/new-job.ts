import type { Redis } from 'ioredis';
import type { JobSpec } from '../job-schema.js';
import type { RedisKeys } from '../keys/redis-keys.js';
import { JobStatus } from '../status.js';
import { EVENT_COUNTERS } from './counters.js';
import { targetHost } from './job-fields.js';
import { execAll } from './redis-exec.js';

/** The indexes a new job enters (lua/create.lua): all jobs, queued, its target host, each metadata pair. */
export function newJobIndexes(keys: RedisKeys, spec: JobSpec): string[] {
  const indexes = [keys.indexAll(), keys.indexStatus(JobStatus.queued), keys.indexHost(targetHost(spec.targetUrl))];
  for (const [mk, mv] of Object.entries(spec.metadata ?? {})) indexes.push(keys.indexMetadata(mk, mv));
  return indexes;
}

/**
 * Undoes a creation whose publish failed (or that too few replicas took):
 * the job's keys, its entries in the indexes it entered and the deadline
 * index, and its count in `jobs_created`, in one MULTI.
 */
export async function deleteNewJob(redis: Redis, keys: RedisKeys, jobId: string, spec: JobSpec): Promise<void> {
  const multi = redis
    .multi()
    .del(keys.job(jobId), keys.jobSpec(jobId), keys.attempts(jobId))
    .zrem(keys.deadlines(), jobId)
    .hincrby(keys.counters(), EVENT_COUNTERS.created, -1);
  for (const index of newJobIndexes(keys, spec)) multi.zrem(index, jobId);
  await execAll(multi);
}
