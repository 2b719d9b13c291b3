import type { Redis } from 'ioredis';
import type { JobSpec } from '../job-schema.js';
import { DEFAULT_APPLICATION, type RedisKeys } from '../keys/redis-keys.js';
import { REDACTED } from '../redact.js';
import { jobHeadersAad, unsealJson, type SecretKeys } from '../secrets.js';
import { ownedBy } from './job-reads.js';
import type { ReplaySource } from './job-store-types.js';
import { execAll } from './redis-exec.js';

/**
 * The full spec for a replay: the stored spec (credential headers redacted)
 * with those headers unsealed from the hash's `sealedHeaders` again. Null
 * when the job is gone or another application's; `missingSecrets` when it
 * had credential headers that no key here can unseal.
 */
export async function readReplaySource(
  redis: Redis,
  keys: RedisKeys,
  jobId: string,
  secretKey: SecretKeys,
): Promise<ReplaySource | null> {
  const [fields, spec] = await execAll(
    redis.pipeline().hmget(keys.job(jobId), 'sealedHeaders', 'createdAtMs', 'traceId', 'app').get(keys.jobSpec(jobId)),
  );
  const [sealed, createdAtMs, traceId, app] = fields as (string | null)[];
  // createdAtMs is in every job hash: without it the job is gone.
  if (typeof spec !== 'string' || !createdAtMs || !ownedBy({ app }, keys.application)) return null;
  const parsed = JSON.parse(spec) as JobSpec;
  const base = {
    spec: parsed,
    createdAt: new Date(Number(createdAtMs)).toISOString(),
    traceId: traceId ?? '',
    missingSecrets: false,
  };
  // What was redacted when the job was stored, whatever the list says now.
  if (!Object.values(parsed.headers).includes(REDACTED)) return base;
  if (!sealed || !secretKey.current) return { ...base, missingSecrets: true };
  const aad = jobHeadersAad(jobId, app ?? DEFAULT_APPLICATION);
  const secrets = unsealJson<Record<string, string>>(sealed, secretKey, aad);
  return { ...base, spec: { ...parsed, headers: { ...parsed.headers, ...secrets } } };
}
