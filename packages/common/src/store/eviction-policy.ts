import type { Redis } from 'ioredis';
import { ConfigError } from '../config-fields.js';
import type { LogSink } from '../logger.js';

/**
 * Relay needs `maxmemory-policy noeviction`: any evicting policy lets Redis
 * drop a job's hash, spec, log or index to make room, and the job is silently
 * lost or half-lost. With noeviction a full Redis refuses writes instead
 * (OOM errors), which relay turns into 503s at intake and deferrals in the
 * worker, losing nothing. Managed Redis often disables CONFIG: then the
 * policy cannot be checked, and that is only warned about.
 */

/** REDIS_EVICTION_CHECK: what start-up does when the policy is not noeviction. */
export type EvictionCheck = 'warn' | 'refuse';

/** What start-up does about a policy: nothing, warn, or refuse (with the message to show). */
export type EvictionVerdict =
  { kind: 'ok' } | { kind: 'unknown'; message: string } | { kind: 'warn' | 'refuse'; message: string };

/** The decision, apart from I/O: `policy` is what CONFIG GET said, null when it could not be read. */
export function judgeEvictionPolicy(policy: string | null, check: EvictionCheck): EvictionVerdict {
  if (policy === null) {
    return {
      kind: 'unknown',
      message:
        'could not read Redis maxmemory-policy (CONFIG GET disabled?): make sure it is noeviction, or a full Redis may evict jobs',
    };
  }
  if (policy === 'noeviction') return { kind: 'ok' };
  return {
    kind: check,
    message: `Redis maxmemory-policy is ${policy}: relay needs noeviction, or a full Redis evicts jobs silently (set maxmemory-policy noeviction; REDIS_EVICTION_CHECK=${check})`,
  };
}

/** Reads the policy and acts on the verdict: a warning in the log, or a ConfigError that stops start-up. */
export async function checkEvictionPolicy(
  redis: Redis,
  check: EvictionCheck,
  log: LogSink,
  where: string,
): Promise<void> {
  let policy: string | null = null;
  try {
    const reply = (await redis.config('GET', 'maxmemory-policy')) as string[];
    policy = reply[1] ?? null;
  } catch {
    // CONFIG renamed or disabled: judged as unknown below.
  }
  const verdict = judgeEvictionPolicy(policy, check);
  if (verdict.kind === 'refuse') throw new ConfigError([verdict.message]);
  if (verdict.kind !== 'ok') log.warn({ redis: where }, verdict.message);
}
