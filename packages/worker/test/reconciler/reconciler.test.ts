import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { DeadlineIndex, JobStore, createLogger, type JobSpec, type WorkMessage } from '@relay/common';
import { createReconcilerMetrics } from '../../src/reconciler/reconciler-metrics.js';
import { Reconciler } from '../../src/reconciler/reconciler.js';
import type { Scheduler } from '../../src/scheduler.js';
import { redisOnRandomPrefix, testSpec } from '../../../common/test/support/store-fixtures.js';

/** The reconciler's sweep against the real Redis (random prefix); publishes are captured. */
const { prefix, redis } = redisOnRandomPrefix('reconcile');
const store = new JobStore(redis, { prefix, ttlSeconds: 600 });
const GRACE = 1000;

const spec = testSpec({ callbackUrl: 'http://127.0.0.1:9/cb' });

function reconciler() {
  const published: WorkMessage[] = [];
  const deadLettered: string[] = [];
  const scheduler = {
    schedule: async (m: WorkMessage) => void published.push(m),
    deadLetter: async (_m: WorkMessage, reason: string) => void deadLettered.push(reason),
  } as unknown as Scheduler;
  const metrics = createReconcilerMetrics(new Registry());
  const r = new Reconciler({
    store,
    scheduler,
    now: Date.now,
    index: new DeadlineIndex(redis, prefix),
    log: createLogger({ name: 'test', level: 'silent' }),
    metrics,
    graceMs: GRACE,
    intervalMs: 1000,
  });
  return { r, published, deadLettered, metrics };
}

describe('Reconciler.sweep', () => {
  it('republishes a queued job left without a message, from its stored spec and hash, once per grace', async () => {
    const jobId = randomUUID();
    const createdAt = new Date(Date.now() - 5000);
    await store.create({ jobId, spec, createdAt, requestId: 'req-1', traceId: 'trace-1' });
    const fresh = randomUUID();
    await store.create({ jobId: fresh, spec, createdAt: new Date(), requestId: null, traceId: 't' });

    const { r, published, metrics } = reconciler();
    expect(await r.sweep()).toBe(1);
    expect(published).toHaveLength(1);
    expect(published[0]).toMatchObject({
      kind: 'attempt',
      jobId,
      attempt: 1,
      seriesBase: 0,
      requestId: 'req-1',
      traceId: 'trace-1',
      createdAt: createdAt.toISOString(),
      application: 'default',
      spec: { targetUrl: spec.targetUrl },
    });
    expect((await metrics.repairs.get()).values.find((v) => v.labels.kind === 'queued')?.value).toBe(1);
    // Re-scored: not repaired again before another grace has passed.
    expect(await r.sweep()).toBe(0);
  });

  it('fails a job whose redacted credentials cannot be restored instead of sending it without them', async () => {
    const jobId = randomUUID();
    const withSecret = { ...spec, headers: { authorization: 'Bearer s3cret' } };
    await store.create({
      jobId,
      spec: withSecret,
      createdAt: new Date(Date.now() - 5000),
      requestId: null,
      traceId: 't',
    });
    const { r, published, deadLettered } = reconciler();
    await r.sweep();
    expect(published.filter((m) => m.jobId === jobId && m.kind === 'attempt')).toHaveLength(0);
    expect(deadLettered).toEqual(['RELAY_ERR_CREDENTIALS_LOST']);
    const job = await store.get(jobId);
    expect(job).toMatchObject({ status: 'failed', error: { code: 'RELAY_ERR_CREDENTIALS_LOST' } });
    expect(published.filter((m) => m.jobId === jobId && m.kind === 'callback')).toHaveLength(1);
  });

  it('drops a job that no longer exists from the index', async () => {
    const jobId = randomUUID();
    await redis.zadd(store.keys.deadlines(), Date.now() - 5000, jobId);
    const { r, published } = reconciler();
    await r.sweep();
    expect(published.some((m) => m.jobId === jobId)).toBe(false);
    expect(await redis.zscore(store.keys.deadlines(), jobId)).toBeNull();
  });
});
