import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import type { Attempt, JobSpec } from '../../src/job-schema.js';
import { pendingCallback } from '../../src/store/callback-state.js';
import { DeadlineIndex } from '../../src/store/deadline-index.js';
import { JobStore } from '../../src/store/job-store.js';
import { redisOnRandomPrefix, testSpec, attemptEntry } from '../support/store-fixtures.js';

/** The deadline index as the job scripts keep it, against the real Redis under a random prefix. */
const { prefix, redis } = redisOnRandomPrefix('deadline');
const store = new JobStore(redis, { prefix, ttlSeconds: 600 });
const index = new DeadlineIndex(redis, prefix);

const spec = testSpec({ callbackUrl: 'http://127.0.0.1:9/cb' });

const attempt = (n: number, statusCode: number): Attempt => attemptEntry(n, statusCode);

async function score(jobId: string): Promise<number | null> {
  const s = await redis.zscore(store.keys.deadlines(), jobId);
  return s === null ? null : Number(s);
}

async function created(withSpec: JobSpec = spec, createdAt = new Date()): Promise<string> {
  const jobId = randomUUID();
  await store.create({ jobId, spec: withSpec, createdAt, requestId: 'r', traceId: 't' });
  return jobId;
}

describe('deadline index', () => {
  it('follows a job through create, lease, retry, end and callback', async () => {
    const createdAt = new Date(Date.now() - 1000);
    const jobId = await created(spec, createdAt);
    expect(await score(jobId)).toBe(createdAt.getTime());

    const before = Date.now();
    expect(await store.beginAttempt(jobId, 1, { token: 'a', ms: 30_000 })).toMatchObject({ outcome: 'run' });
    const leaseEnd = (await score(jobId))!;
    expect(leaseEnd).toBeGreaterThanOrEqual(before + 30_000 - 50);
    expect(leaseEnd).toBeLessThanOrEqual(Date.now() + 30_000 + 50);

    const due = new Date(Date.now() + 7000);
    const retry = { attempt: attempt(1, 503), status: 'retrying' as const, callback: null, deadLettered: false };
    await store.recordAttempt(jobId, { ...retry, nextAttemptAt: due.toISOString() });
    expect(await score(jobId)).toBe(due.getTime());

    await store.beginAttempt(jobId, 2, { token: 'b', ms: 30_000 });
    const done = { attempt: attempt(2, 200), status: 'completed' as const, nextAttemptAt: null, deadLettered: false };
    await store.recordAttempt(jobId, { ...done, callback: pendingCallback() });
    // Ended with its callback pending: due now.
    expect(Math.abs((await score(jobId))! - Date.now())).toBeLessThan(1000);

    const next = new Date(Date.now() + 4000).toISOString();
    const retrying = { ...pendingCallback(), status: 'retrying' as const, attempts: 1, nextAttemptAt: next };
    await store.setCallback(jobId, retrying);
    expect(await score(jobId)).toBe(Date.parse(next));
    await store.setCallback(jobId, { ...retrying, status: 'delivered', nextAttemptAt: null }, 'callbacks_sent');
    expect(await score(jobId)).toBeNull();
  });

  it('drops a job that ends without a callback, and re-adds it on replay until the replay is undone', async () => {
    const jobId = await created({ ...spec, callbackUrl: undefined });
    await store.beginAttempt(jobId, 1, { token: 'a', ms: 10_000 });
    const failed = { attempt: attempt(1, 400), status: 'failed' as const, nextAttemptAt: null, deadLettered: true };
    await store.recordAttempt(jobId, { ...failed, callback: null });
    expect(await score(jobId)).toBeNull();

    const replay = await store.replay(jobId, null);
    expect(replay).toEqual({ outcome: 'ok', attemptsDone: 1 });
    expect(await score(jobId)).not.toBeNull();
    expect(await store.undoReplay(jobId, 1)).toBe(true);
    expect(await score(jobId)).toBeNull();
  });

  it('removes a cancelled job without a callback and keeps one with a callback due', async () => {
    const plain = await created({ ...spec, callbackUrl: undefined });
    expect(await store.cancel(plain, null)).toEqual({ outcome: 'cancelled' });
    expect(await score(plain)).toBeNull();

    const withCallback = await created();
    expect(await store.cancel(withCallback, pendingCallback(new Date().toISOString()))).toEqual({
      outcome: 'cancelled',
    });
    expect(await score(withCallback)).not.toBeNull();
  });

  it('ends a job cancelled during an unfinished attempt at the next start, without running it', async () => {
    const jobId = await created();
    // The cancel arrives while the lease runs (so it is only requested); the next start comes after it ran out.
    await store.beginAttempt(jobId, 1, { token: 'a', ms: 300 });
    expect(await store.cancel(jobId, null)).toEqual({ outcome: 'requested' });
    await new Promise((r) => setTimeout(r, 350));
    const begin = await store.beginAttempt(jobId, 1, { token: 'b', ms: 10_000 }, undefined, pendingCallback());
    expect(begin).toEqual({ outcome: 'cancelled', attemptsDone: 0, webhooks: null });
    const job = await store.get(jobId);
    expect(job).toMatchObject({ status: 'cancelled', callback: { status: 'pending' } });
    expect(await redis.hget(store.keys.job(jobId), 'cancelRequested')).toBeNull();
    expect(await score(jobId)).not.toBeNull();
    // A copy of the same message learns that it was this attempt's start that
    // ended the job (it emits the cancelled event again); a job the API
    // cancelled while it waited says no such thing.
    expect(await store.beginAttempt(jobId, 1, { token: 'c', ms: 10_000 })).toMatchObject({
      outcome: 'final',
      status: 'cancelled',
      cancelledBefore: 1,
    });
    const waiting = await created();
    expect(await store.cancel(waiting, null)).toEqual({ outcome: 'cancelled' });
    expect(await store.beginAttempt(waiting, 1, { token: 'd', ms: 10_000 })).toMatchObject({
      outcome: 'final',
      cancelledBefore: null,
    });
  });

  it('reports the scheduled mark to a stale copy, and never lowers it', async () => {
    const jobId = await created();
    await store.beginAttempt(jobId, 1, { token: 'a', ms: 10_000 });
    const retry = { attempt: attempt(1, 503), status: 'retrying' as const, callback: null, deadLettered: false };
    await store.recordAttempt(jobId, { ...retry, nextAttemptAt: new Date().toISOString() });
    expect(await store.beginAttempt(jobId, 1, { token: 'b', ms: 10_000 })).toMatchObject({
      outcome: 'stale',
      scheduled: 0,
    });
    expect(await store.markScheduled(jobId, 2)).toBe(true);
    expect(await store.markScheduled(jobId, 2)).toBe(false);
    expect(await store.beginAttempt(jobId, 1, { token: 'c', ms: 10_000 })).toMatchObject({
      outcome: 'stale',
      scheduled: 2,
    });
    expect(await store.markScheduled(randomUUID(), 2)).toBe(false);
  });

  it('reads the overdue head with the fields a repair needs, and hands the lease to one holder', async () => {
    const old = new Date(Date.now() - 60_000);
    const jobId = await created(spec, old);
    const overdue = await index.overdue(Date.now() - 30_000, 1000);
    const entry = overdue.find((e) => e.jobId === jobId);
    expect(entry).toMatchObject({ deadlineMs: old.getTime(), job: { status: 'queued', attempts: 0, seriesBase: 0 } });
    await index.postpone(entry!, Date.now());
    expect((await index.overdue(Date.now() - 30_000, 1000)).some((e) => e.jobId === jobId)).toBe(false);

    expect(await index.holdLease('one', 5000)).toBe(true);
    expect(await index.holdLease('two', 5000)).toBe(false);
    expect(await index.holdLease('one', 5000)).toBe(true);
    await index.releaseLease('one');
    expect(await index.holdLease('two', 5000)).toBe(true);
    await index.releaseLease('two');
  });
});
