import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisKeys } from '@relay/common';
import { reply, TestServer } from './support/http-servers.js';
import { REDIS_URL } from './support/services.js';
import { startStack, type Stack } from './support/stack.js';

/**
 * How a job rests in Redis (README "State in Redis"): a small finished job's
 * hash stays packed (listpack) under Redis's default limits, its spec has its
 * own key that expires with the hash, and records of the earlier layout
 * (spec inside the hash, callback state as an object) still read.
 */
let stack: Stack;
let redis: Redis;
const target = new TestServer();
const callbacks = new TestServer();

beforeAll(async () => {
  await Promise.all([target.listen(), callbacks.listen()]);
  target.on('/ok', (_req, res) => reply(res, 200, '{"ok":true}', { 'content-type': 'application/json' }));
  callbacks.on('/cb', (_req, res) => reply(res, 204, ''));
  stack = await startStack('layout');
  redis = new Redis(REDIS_URL);
});

afterAll(async () => {
  redis?.disconnect();
  await stack?.stop();
  await Promise.all([target.close(), callbacks.close()]);
});

describe('job storage layout', () => {
  it('keeps a small finished job packed, with its spec beside it, and shows it whole', async () => {
    const jobId = await stack.api.submitOk({
      targetUrl: target.url('/ok'),
      payload: { n: 1 },
      callbackUrl: callbacks.url('/cb'),
    });
    const job = await stack.api.waitFinal(jobId, 15_000, { callback: true });
    const keys = redisKeys(stack.prefix);

    expect(await redis.call('CONFIG', 'GET', 'hash-max-listpack-value')).toEqual(['hash-max-listpack-value', '64']);
    expect(await redis.object('ENCODING', keys.job(jobId))).toBe('listpack');
    expect(await redis.hexists(keys.job(jobId), 'spec')).toBe(0);
    expect(JSON.parse((await redis.get(keys.jobSpec(jobId)))!)).toMatchObject({ targetUrl: target.url('/ok') });
    const [hashTtl, specTtl] = [await redis.ttl(keys.job(jobId)), await redis.ttl(keys.jobSpec(jobId))];
    expect(specTtl).toBeGreaterThan(0);
    expect(Math.abs(hashTtl - specTtl)).toBeLessThanOrEqual(2);

    expect(job).toMatchObject({ status: 'completed', targetUrl: target.url('/ok'), payload: { n: 1 } });
    expect(job.callback).toEqual({
      status: 'delivered',
      statusCode: 204,
      attempts: 1,
      error: null,
      lastAttemptAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      nextAttemptAt: null,
    });
    const listed = await stack.api.send('GET', '/api/jobs?limit=10');
    expect(listed.body.jobs.find((j: { jobId: string }) => j.jobId === jobId)).toMatchObject({
      targetUrl: target.url('/ok'),
      callbackStatus: 'delivered',
      lastStatusCode: 200,
    });
  });

  it('reads a record of the earlier layout: spec in the hash, callback state as an object', async () => {
    const keys = redisKeys(stack.prefix);
    const jobId = randomUUID();
    const createdAtMs = Date.now();
    const spec = {
      targetUrl: 'http://127.0.0.1:9/old',
      method: 'POST',
      headers: {},
      maxRetries: 0,
      retryDelay: 1000,
      timeout: 30000,
    };
    const callback = {
      status: 'delivered',
      statusCode: 200,
      attempts: 1,
      error: null,
      lastAttemptAt: '2026-11-20T10:00:00.000Z',
      nextAttemptAt: null,
    };
    await redis
      .multi()
      .hset(keys.job(jobId), {
        spec: JSON.stringify(spec),
        status: 'completed',
        attempts: 1,
        createdAtMs,
        updatedAt: '2026-11-20T10:00:00.000Z',
        completedAt: '2026-11-20T10:00:00.000Z',
        lastStatusCode: 200,
        callback: JSON.stringify(callback),
      })
      .expire(keys.job(jobId), 600)
      .zadd(keys.indexAll(), createdAtMs, jobId)
      .exec();

    const view = await stack.api.job(jobId);
    expect(view.status).toBe(200);
    expect(view.body).toMatchObject({ jobId, status: 'completed', targetUrl: spec.targetUrl, callback });
    const listed = await stack.api.send('GET', '/api/jobs?limit=10');
    expect(listed.body.jobs.find((j: { jobId: string }) => j.jobId === jobId)).toMatchObject({
      targetUrl: spec.targetUrl,
      callbackStatus: 'delivered',
    });
  });
});
