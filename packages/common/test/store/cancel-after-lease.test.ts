import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import type { Attempt } from '../../src/job-schema.js';
import { JobStore } from '../../src/store/job-store.js';
import { redisOnRandomPrefix, testSpec } from '../support/store-fixtures.js';

/** cancel.lua and record-attempt.lua on a job whose lease ran out, against the real Redis. */
const { prefix, redis } = redisOnRandomPrefix('cancel');
const store = new JobStore(redis, { prefix, ttlSeconds: 600 });

const spec = testSpec();

const entry: Attempt = {
  attempt: 1,
  startedAt: new Date().toISOString(),
  durationMs: 1,
  statusCode: 200,
  success: true,
  response: { statusCode: 200, headers: {}, body: 'ok', truncated: false, bodyBytes: 2 },
  error: null,
  retryable: false,
};

async function running(leaseMs: number): Promise<string> {
  const jobId = randomUUID();
  await store.create({ jobId, spec, createdAt: new Date(), requestId: null, traceId: 't' });
  expect(await store.beginAttempt(jobId, 1, { token: 'a', ms: leaseMs })).toMatchObject({ outcome: 'run' });
  return jobId;
}

describe('cancel of a running job', () => {
  it('only flags a job whose lease still holds', async () => {
    const jobId = await running(60_000);
    expect(await store.cancel(jobId, null)).toEqual({ outcome: 'requested' });
    expect((await store.get(jobId))?.status).toBe('in_progress');
  });

  it('cancels at once a job whose lease has expired, and a late attempt does not overwrite the end', async () => {
    const jobId = await running(1);
    await sleep(20);
    expect(await store.cancel(jobId, null)).toEqual({ outcome: 'cancelled' });
    const hash = await redis.hgetall(store.keys.job(jobId));
    expect(hash).toMatchObject({ status: 'cancelled' });
    expect(hash).not.toHaveProperty('leaseToken');
    // The attempt whose lease ran out finishes after all: the job stays cancelled.
    const written = await store.recordAttempt(jobId, {
      attempt: entry,
      status: 'completed',
      nextAttemptAt: null,
      callback: null,
      deadLettered: false,
    });
    expect(written).toEqual({ written: false, status: 'cancelled' });
    const view = await store.get(jobId);
    expect(view).toMatchObject({ status: 'cancelled', attempts: 0 });
    expect((await store.counters()).jobs_success).toBe(0);
    expect(await store.beginAttempt(jobId, 1, { token: 'b', ms: 1000 })).toMatchObject({ outcome: 'final' });
  });
});
