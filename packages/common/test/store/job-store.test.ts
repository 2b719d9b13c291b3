import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import type { Attempt, JobSpec } from '../../src/job-schema.js';
import { pendingCallback } from '../../src/store/callback-state.js';
import { JobStore } from '../../src/store/job-store.js';
import { JOB_LAYOUT_VERSION } from '../../src/store/layout.js';
import { setJobWebhooks } from '../../src/store/job-webhooks.js';
import { redisOnRandomPrefix, testSpec, attemptEntry } from '../support/store-fixtures.js';

/** The store's scripts against the real Redis, under a random prefix. */
const { prefix, redis } = redisOnRandomPrefix('jobs');
const store = new JobStore(redis, { prefix, ttlSeconds: 600 });

const spec = testSpec({ maxRetries: 1, callbackUrl: 'http://127.0.0.1:9/cb' });

const attempt = (n: number, statusCode: number): Attempt => attemptEntry(n, statusCode);

describe('JobStore', () => {
  it('stores a job with its layout version and runs it through attempts, counters and a replay', async () => {
    const jobId = randomUUID();
    const createdAt = new Date('2026-11-30T10:00:00.000Z');
    await store.create({ jobId, spec, createdAt, requestId: 'r1', traceId: 't1' });
    const hash = await redis.hgetall(store.keys.job(jobId));
    expect(hash).toMatchObject({ v: JOB_LAYOUT_VERSION, status: 'queued', createdAtMs: String(createdAt.getTime()) });
    expect(hash).not.toHaveProperty('createdAt');
    expect((await store.get(jobId))?.createdAt).toBe(createdAt.toISOString());

    expect(await store.beginAttempt(jobId, 1, { token: 'a', ms: 10_000 })).toEqual({ outcome: 'run', attemptsDone: 0, webhooks: null });
    expect(await store.beginAttempt(jobId, 1, { token: 'b', ms: 10_000 })).toMatchObject({ outcome: 'busy' });
    const retrying = { attempt: attempt(1, 503), status: 'retrying' as const, callback: null, deadLettered: false };
    expect(await store.recordAttempt(jobId, { ...retrying, nextAttemptAt: createdAt.toISOString() })).toEqual({
      written: true,
      status: 'retrying',
    });
    expect(await store.beginAttempt(jobId, 2, { token: 'c', ms: 10_000 })).toEqual({ outcome: 'run', attemptsDone: 1, webhooks: null });
    const failed = { attempt: attempt(2, 500), status: 'failed' as const, nextAttemptAt: null, deadLettered: true };
    expect(await store.recordAttempt(jobId, { ...failed, callback: pendingCallback() })).toEqual({
      written: true,
      status: 'failed',
    });
    expect(await store.beginAttempt(jobId, 3, { token: 'd', ms: 10_000 })).toEqual({
      outcome: 'final',
      status: 'failed',
      attemptsDone: 2,
      webhooks: null,
      cancelledBefore: null,
    });

    const view = await store.get(jobId);
    expect(view).toMatchObject({ status: 'failed', attempts: 2, lastResponse: { statusCode: 500 } });
    expect(view?.callback).toEqual(pendingCallback());
    expect(await store.counters()).toMatchObject({
      jobs_created: 1,
      jobs_retried: 1,
      jobs_failed: 1,
      jobs_dlq: 1,
      jobs_processing: 0,
    });

    expect(await store.replay(jobId, 'r2')).toEqual({ outcome: 'ok', attemptsDone: 2 });
    expect(await store.replay(jobId, 'r3')).toEqual({ outcome: 'conflict', status: 'queued' });
    expect(await store.undoReplay(jobId, 2)).toBe(true);
    expect((await store.get(jobId))?.deadLetteredAt).not.toBeNull();
    expect(await store.cancel(jobId, null)).toEqual({ outcome: 'final', status: 'failed' });
  });

  it('cancels a waiting job and counts it; a missing job is missing', async () => {
    const jobId = randomUUID();
    await store.create({ jobId, spec, createdAt: new Date(), requestId: null, traceId: 't' });
    expect(await store.cancel(jobId, pendingCallback('2026-11-30T10:00:00.000Z'))).toEqual({ outcome: 'cancelled' });
    expect((await store.counters()).jobs_cancelled).toBe(1);
    expect(await store.cancel(randomUUID(), null)).toEqual({ outcome: 'missing' });
    expect(await store.beginAttempt(randomUUID(), 1, { token: 'x', ms: 1000 })).toEqual({ outcome: 'missing' });
  });

  it('recreates a missing job from the message with the current layout (createdAtMs, no ISO createdAt)', async () => {
    const jobId = randomUUID();
    const createdAt = '2026-11-30T11:00:00.000Z';
    const begun = await store.beginAttempt(jobId, 2, { token: 't', ms: 10_000 }, { spec, createdAt });
    expect(begun).toEqual({ outcome: 'run', attemptsDone: 1, webhooks: null });
    const hash = await redis.hgetall(store.keys.job(jobId));
    expect(hash).toMatchObject({ v: JOB_LAYOUT_VERSION, createdAtMs: String(Date.parse(createdAt)), recreated: '1' });
    expect(hash).not.toHaveProperty('createdAt');
    expect((await store.get(jobId))?.createdAt).toBe(createdAt);
  });
});

describe('beginAttempt and the stored webhooks map', () => {
  it("returns the hash's webhooks map (set after submission) so the worker needs no other read, null without one", async () => {
    const jobId = randomUUID();
    await store.create({ jobId, spec: testSpec({ webhooks: { completed: 'http://127.0.0.1:9/spec' } }), createdAt: new Date(), requestId: null, traceId: 't' });
    // Only the spec's map: the worker takes it from the message.
    expect(await store.beginAttempt(jobId, 1, { token: 'a', ms: 10_000 })).toMatchObject({ outcome: 'run', webhooks: null });
    await store.recordAttempt(jobId, {
      attempt: attemptEntry(1, 503),
      status: 'retrying',
      nextAttemptAt: new Date().toISOString(),
      callback: null,
      deadLettered: false,
    });
    expect(await setJobWebhooks(store, jobId, { '*': 'http://127.0.0.1:9/all' })).toMatchObject({ outcome: 'ok' });
    const expected = { completed: 'http://127.0.0.1:9/spec', '*': 'http://127.0.0.1:9/all' };
    expect(await store.beginAttempt(jobId, 1, { token: 'b', ms: 10_000 })).toMatchObject({ outcome: 'stale', webhooks: expected });
    expect(await store.beginAttempt(jobId, 2, { token: 'c', ms: 10_000 })).toEqual({ outcome: 'run', attemptsDone: 1, webhooks: expected });
  });
});
