import { once } from 'node:events';
import { Redis } from 'ioredis';
import { redactUrl } from '../config.js';
import type { LogSink } from '../logger.js';
import { retryUntilReachable } from '../reachability.js';
import { checkEvictionPolicy, type EvictionCheck } from './eviction-policy.js';

export interface RedisConnectOptions {
  url: string;
  log: LogSink;
  /** How long to keep retrying before start-up fails (ms). */
  startupTimeoutMs: number;
  /** REDIS_COMMAND_TIMEOUT_MS: a command not answered within this fails (ms). @defaultValue 5000 */
  commandTimeoutMs?: number;
  /** REDIS_EVICTION_CHECK: what an evicting `maxmemory-policy` does at start. @defaultValue 'warn' */
  evictionCheck?: EvictionCheck;
}

export const REDIS_START_HINT =
  'start it with `docker compose -p relay-dev -f docker/dev-brokers.yml up -d redis`, or `redis-server --daemonize yes`, or set REDIS_URL';

/**
 * Connects to Redis and waits until it answers PING, retrying for a bounded
 * time. After start-up ioredis reconnects by itself; commands issued while it
 * is disconnected fail at once (no offline queue) so callers can answer 503
 * instead of hanging.
 */
export async function connectRedis(options: RedisConnectOptions): Promise<Redis> {
  const where = redactUrl(options.url);
  let down = false;
  const redis = new Redis(options.url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    // A stalled Redis (or a lost reply) fails the command instead of holding
    // a request or a message forever; callers then answer 503 or defer.
    commandTimeout: options.commandTimeoutMs ?? 5000,
    connectTimeout: 2000,
    retryStrategy: (times) => Math.min(50 * 2 ** times, 2000),
    // Commands issued in the same tick (many jobs at once) go out in one write
    // and come back in one read: far fewer syscalls under load, no cost when idle.
    enableAutoPipelining: true,
  });
  redis.on('error', (err) => {
    // ioredis emits an error per reconnect attempt: log the transition only.
    if (!down) options.log.warn({ err, redis: where }, 'redis connection lost; reconnecting');
    down = true;
  });
  redis.on('ready', () => {
    if (down) options.log.info({ redis: where }, 'redis connection restored');
    down = false;
  });
  try {
    await retryUntilReachable(
      async () => {
        // Commands fail at once until the connection is ready (no offline
        // queue), so wait for it instead of reporting a spurious failure.
        if (redis.status !== 'ready') await once(redis, 'ready', { signal: AbortSignal.timeout(2000) });
        await redis.ping();
      },
      { service: 'Redis', where, hint: REDIS_START_HINT, log: options.log, timeoutMs: options.startupTimeoutMs },
    );
    await checkEvictionPolicy(redis, options.evictionCheck ?? 'warn', options.log, where);
  } catch (err) {
    redis.disconnect();
    throw err;
  }
  return redis;
}
