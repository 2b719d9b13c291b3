import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JOB_LAYOUT_VERSION, redisKeys } from '@relay/common';
import { reply, TestServer } from './support/http-servers.js';
import { REDIS_URL } from './support/services.js';
import { startStack, type Stack } from './support/stack.js';

/**
 * How a job rests in Redis (README "State in Redis"): a small finished job's
 * hash stays packed (listpack) under Redis's default limits and carries its
 * layout version, its spec has its own key that expires with the hash, and
 * only the current fields are stored (the ISO creation time is derived).
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
    const hash = await redis.hgetall(keys.job(jobId));
    expect(hash.v).toBe(JOB_LAYOUT_VERSION);
    expect(Number(hash.createdAtMs)).toBe(Date.parse(job.createdAt));
    for (const gone of ['spec', 'createdAt', 'lastResponse', 'leaseToken', 'leaseUntil']) {
      expect(hash, gone).not.toHaveProperty(gone);
    }
    // The callback state in its compact stored form (callback-state.ts).
    expect(JSON.parse(hash.callback!)).toEqual(['delivered', 204, 1, expect.any(Number), null]);
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
});
