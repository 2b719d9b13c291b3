import type { JobSpec } from '../job-schema.js';
import type { RedisKeys } from '../keys/redis-keys.js';
import { jobQuotaBytes, QUOTA_BYTE_BUCKETS, type QuotaLimits } from '../quotas.js';
import type { createJob } from './job-scripts.js';

/** What create.lua needs to check `keys.application`'s quotas for one job (null: no quotas). Pure. */
export function createQuotaArgs(
  keys: RedisKeys,
  quotas: QuotaLimits | undefined,
  a: { spec: JobSpec; specJson: string; ttlSeconds: number },
): Parameters<typeof createJob>[1]['quota'] {
  if (!quotas) return null;
  return {
    recordKey: keys.applicationRecord(keys.application),
    statusPrefix: keys.indexStatusPrefix(),
    bytesKey: keys.quotaBytes(),
    defaults: quotas,
    priority: a.spec.priority,
    jobBytes: jobQuotaBytes(a.specJson),
    bucketMs: Math.ceil((a.ttlSeconds * 1000) / QUOTA_BYTE_BUCKETS),
  };
}
