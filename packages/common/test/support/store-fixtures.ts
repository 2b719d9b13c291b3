import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll } from 'vitest';
import type { Attempt, JobSpec } from '../../src/job-schema.js';

/**
 * What the store tests of every package share: a connection to the real Redis
 * under a random prefix (its keys deleted after the file), a job spec to
 * vary, and an attempt entry.
 */

/** A Redis connection and a random key prefix for one test file; the prefix's keys go after the file. */
export function redisOnRandomPrefix(label: string): { prefix: string; redis: Redis } {
  const prefix = `t-${label}-${randomBytes(4).toString('hex')}`;
  const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  afterAll(async () => {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  });
  return { prefix, redis };
}

/** A job spec to a port nothing listens on (nothing is sent in these tests), with `overrides`. */
export function testSpec(overrides: Partial<JobSpec> = {}): JobSpec {
  return {
    targetUrl: 'http://127.0.0.1:9/hook',
    method: 'POST',
    headers: {},
    maxRetries: 3,
    retryDelay: 1000,
    timeout: 5000,
    payload: null,
    priority: 'normal',
    ...overrides,
  };
}

/** Attempt `n` answered with `statusCode` (and `body`): a success below 400, retryable from 500. */
export function attemptEntry(n: number, statusCode: number, body = ''): Attempt {
  return {
    attempt: n,
    startedAt: new Date().toISOString(),
    durationMs: 1,
    statusCode,
    success: statusCode < 400,
    response: { statusCode, headers: {}, body, truncated: false, bodyBytes: body.length },
    error: null,
    retryable: statusCode >= 500,
  };
}
