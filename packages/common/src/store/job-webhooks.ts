import type { Redis } from 'ioredis';
import type { JobSpec, Webhooks } from '../job-schema.js';
import type { RedisKeys } from '../keys/redis-keys.js';
import { runScript } from './lua-loader.js';
import { onRedis } from './redis-exec.js';

/**
 * A job's webhooks (events/event-names.ts: WEBHOOK_KEYS to URLs). The
 * effective map is the job hash's `webhooks` field once a client changed it
 * (POST /api/job/:id/webhooks), else the spec's `webhooks`: the spec is
 * immutable. The field is JSON, usually longer than the listpack limit, so
 * only jobs whose webhooks were changed pay for a hashtable-encoded hash.
 */

export type WebhooksChange = Partial<Record<keyof Webhooks, string | null>>;

export type SetWebhooksResult =
  { outcome: 'ok'; webhooks: Webhooks } | { outcome: 'missing' } | { outcome: 'final'; status: string };

/** The effective map from the raw hash field and the spec. */
export function effectiveWebhooks(field: string | null | undefined, spec: Pick<JobSpec, 'webhooks'> | null): Webhooks {
  if (field) return JSON.parse(field) as Webhooks;
  return spec?.webhooks ?? {};
}

/** Merges `changes` into an unfinished job's webhooks (lua/set-webhooks.lua); `jobs` is the application's JobStore. */
export async function setJobWebhooks(
  jobs: { redis: Redis; keys: RedisKeys },
  jobId: string,
  changes: WebhooksChange,
  now: Date = new Date(),
): Promise<SetWebhooksResult> {
  const k = jobs.keys;
  // The spec's map is the base only until the field exists; the script
  // prefers the field, so reading the spec first races with nothing.
  const [field, spec] = await onRedis(
    Promise.all([jobs.redis.hget(k.job(jobId), 'webhooks'), jobs.redis.get(k.jobSpec(jobId))]),
  );
  const base = field ? '{}' : JSON.stringify(effectiveWebhooks(null, spec ? (JSON.parse(spec) as JobSpec) : null));
  const reply = (await onRedis(
    runScript(jobs.redis, 'set-webhooks', [k.job(jobId)], [JSON.stringify(changes), base, now.toISOString()]),
  )) as [string, string?];
  if (reply[0] === 'missing') return { outcome: 'missing' };
  if (reply[0] === 'final') return { outcome: 'final', status: reply[1]! };
  return { outcome: 'ok', webhooks: JSON.parse(reply[1]!) as Webhooks };
}
