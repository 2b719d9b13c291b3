import { once } from 'node:events';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { LogSink } from '../logger.js';
import { retryUntilReachable } from '../reachability.js';
import { checkEvictionPolicy, type EvictionCheck } from './eviction-policy.js';
import { defineScripts } from './lua-loader.js';
import { describeRedisTarget, type RedisTarget } from './redis-target.js';

export interface RedisConnectOptions {
  /** One server, a cluster or a sentinel set-up (redis-target.ts: redisTarget(config)). */
  target: RedisTarget;
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

/** REDIS_URL with REDIS_USERNAME / REDIS_PASSWORD put in, when set (they win over the URL's own). */
function urlWithCredentials(target: Extract<RedisTarget, { kind: 'url' }>): string {
  if (!target.username && !target.password) return target.url;
  const url = new URL(target.url);
  if (target.username) url.username = encodeURIComponent(target.username);
  if (target.password) url.password = encodeURIComponent(target.password);
  return url.toString();
}

/**
 * The client for `target`. A Cluster client is returned typed as Redis: it
 * has the same command methods, pipeline, multi and defineCommand, which is
 * all the stores use, and the slot layout (keys/redis-keys.ts) keeps every
 * script, MULTI and pipeline of theirs on one slot, as Cluster requires.
 */
function createClient(target: RedisTarget, commandTimeoutMs: number): Redis {
  const common: RedisOptions = {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    // A stalled Redis (or a lost reply) fails the command instead of holding
    // a request or a message forever; callers then answer 503 or defer.
    commandTimeout: commandTimeoutMs,
    connectTimeout: 2000,
    retryStrategy: (times) => Math.min(50 * 2 ** times, 2000),
    // Commands issued in the same tick (many jobs at once) go out in one write
    // and come back in one read: far fewer syscalls under load, no cost when idle.
    enableAutoPipelining: true,
  };
  const credentials = {
    ...(target.username ? { username: target.username } : {}),
    ...(target.password ? { password: target.password } : {}),
  };
  switch (target.kind) {
    case 'url':
      return new Redis(urlWithCredentials(target), common);
    case 'sentinel':
      // ioredis asks the sentinels for the master, checks its ROLE on every
      // connect, and on a lost connection asks again: after a failover it
      // reconnects to the promoted replica.
      return new Redis({
        ...common,
        ...credentials,
        sentinels: target.sentinels,
        name: target.name,
        ...(target.sentinelPassword ? { sentinelPassword: target.sentinelPassword } : {}),
        sentinelRetryStrategy: (times) => Math.min(50 * 2 ** times, 2000),
        // A master demoted by the sentinels keeps its clients' sockets open
        // and answers writes with READONLY: reconnect (and resend the
        // command), which asks the sentinels for the master again.
        reconnectOnError: (err) => (err.message.startsWith('READONLY') ? 2 : false),
        // No failoverDetector: with it, a worker's connection ended for good
        // (status `end`) in one of the failover runs; a killed master closes
        // its sockets anyway, and a demoted one answers READONLY (above).
      });
    case 'cluster':
      return new Cluster(target.nodes, {
        enableOfflineQueue: false,
        enableAutoPipelining: true,
        clusterRetryStrategy: (times) => Math.min(50 * 2 ** times, 2000),
        // During a failover the slot answers CLUSTERDOWN or moves: retry
        // shortly (bounded by commandTimeout) instead of failing at once.
        retryDelayOnClusterDown: 100,
        retryDelayOnFailover: 100,
        retryDelayOnTryAgain: 100,
        slotsRefreshTimeout: 2000,
        redisOptions: { ...common, ...credentials },
      }) as unknown as Redis;
  }
}

/**
 * Connects to Redis and waits until it answers PING, retrying for a bounded
 * time. After start-up ioredis reconnects by itself; commands issued while it
 * is disconnected fail at once (no offline queue) so callers can answer 503
 * instead of hanging.
 */
export async function connectRedis(options: RedisConnectOptions): Promise<Redis> {
  const where = describeRedisTarget(options.target);
  let down = false;
  const redis = createClient(options.target, options.commandTimeoutMs ?? 5000);
  defineScripts(redis);
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
