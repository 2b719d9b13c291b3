import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { JobStore } from '../../src/store/job-store.js';
import { connectRedis } from '../../src/store/redis-connection.js';
import { testSpec } from '../support/store-fixtures.js';

/**
 * relay's connections auto-pipeline: commands issued in one tick go out as
 * one pipeline, which knows only the commands defined when it was made.
 * connectRedis defines the job scripts before anything is sent, so a script
 * issued in the same tick as a plain command on a new connection joins the
 * pipeline like any command. Before, the scripts were defined on first use:
 * the batch failed ("pipeline[functionName] is not a function") and took the
 * backend down with it.
 */
const prefix = `t-autopipe-${randomBytes(4).toString('hex')}`;
const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const redisPromise = connectRedis({
  target: { kind: 'url', url, username: '', password: '' },
  log: createLogger({ name: 'test', level: 'silent' }),
  startupTimeoutMs: 5000,
});

afterAll(async () => {
  const redis = await redisPromise;
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

describe('auto-pipelining on a new connection', () => {
  it('runs job scripts issued in the same tick as plain commands', async () => {
    const redis = await redisPromise;
    const store = new JobStore(redis, { prefix, ttlSeconds: 600 });
    const ids = Array.from({ length: 8 }, () => randomUUID());
    // A plain read first, then eight creations, all in one tick.
    const results = await Promise.all([
      redis.get(`${prefix}:nothing`),
      ...ids.map((jobId) =>
        store.create({ jobId, spec: testSpec(), createdAt: new Date(), requestId: null, traceId: 't' }),
      ),
    ]);
    expect(results[0]).toBeNull();
    for (const jobId of ids) expect(await redis.hget(store.keys.job(jobId), 'status')).toBe('queued');
  });
});
