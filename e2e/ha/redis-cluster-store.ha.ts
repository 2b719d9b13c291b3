import { randomBytes, randomUUID } from 'node:crypto';
import {
  ApplicationStore,
  DeadlineIndex,
  DEFAULT_APPLICATION,
  JobStore,
  pendingCallback,
  redisKeys,
  searchJobs,
  type Attempt,
  type JobSpec,
} from '@relay/common';
import type { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterTarget, connectTarget, haScript } from './support/redis-ha.js';

/**
 * The stores against a real Redis Cluster (3 masters, 3 replicas, from
 * scripts/ha/redis-cluster.sh): every script, MULTI and pipeline must stay on
 * one slot, or Cluster refuses it (CROSSSLOT) and these fail. Applications
 * are spread over the masters, so a listing, a count or a sweep that mixed
 * slots would fail too.
 */

const prefix = `t-ha-${randomBytes(4).toString('hex')}`;
let redis: Redis;
const APPS = [DEFAULT_APPLICATION, 'tenant-a', 'tenant-b', 'tenant-c', 'tenant-d'];

const spec: JobSpec = {
  targetUrl: 'http://127.0.0.1:9/hook',
  method: 'POST',
  headers: { 'content-type': 'application/json', authorization: 'Bearer secret-token' },
  payload: { a: 1 },
  timeout: 1000,
  retryDelay: 1000,
  maxRetries: 2,
  priority: 'normal',
  metadata: { order: '42' },
  callbackUrl: 'http://127.0.0.1:9/cb',
};

function attempt(n: number, statusCode: number): Attempt {
  return {
    attempt: n,
    startedAt: new Date().toISOString(),
    durationMs: 1,
    statusCode,
    success: statusCode < 400,
    response: { statusCode, headers: {}, body: '', truncated: false, bodyBytes: 0 },
    error: null,
    retryable: statusCode >= 500,
  };
}

function storeOf(application: string, extra: Partial<ConstructorParameters<typeof JobStore>[1]> = {}): JobStore {
  return new JobStore(redis, {
    prefix,
    application,
    ttlSeconds: 600,
    secretKey: randomBytes(32).toString('base64'),
    quotas: { maxUnfinishedJobs: 1000, maxStoredBytes: 10_000_000, maxPriority: 'high' },
    ...extra,
  });
}

beforeAll(async () => {
  await haScript('redis-cluster.sh', 'up');
  redis = await connectTarget(await clusterTarget());
});

afterAll(async () => {
  if (!redis) return;
  // Each master holds its own keys: delete this prefix's on every one.
  const cluster = redis as unknown as Cluster;
  await Promise.all(
    cluster.nodes('master').map(async (node) => {
      const keys = await node.keys(`${prefix}:*`);
      for (const key of keys) await node.del(key).catch(() => undefined);
    }),
  );
  redis.disconnect();
  await haScript('redis-cluster.sh', 'down');
});

describe('job store on Redis Cluster', () => {
  it('puts the applications used here on more than one master (else the test proves less)', async () => {
    const cluster = redis as unknown as Cluster;
    const slots = await Promise.all(APPS.map((a) => cluster.cluster('KEYSLOT', redisKeys(prefix, a).indexAll())));
    const masters = new Set(slots.map((slot) => cluster.slots[slot as number]?.[0]));
    expect(masters.size).toBeGreaterThan(1);
  });

  it('runs a job through create, attempts, callback, listings and counters, per application', async () => {
    for (const application of APPS) {
      const store = storeOf(application);
      const jobId = randomUUID();
      await store.create({ jobId, spec, createdAt: new Date(), requestId: 'r1', traceId: 't1' });
      expect((await store.get(jobId))?.status).toBe('queued');
      expect(await store.beginAttempt(jobId, 1, { token: 'a', ms: 10_000 })).toEqual({
        outcome: 'run',
        attemptsDone: 0,
        webhooks: null,
      });
      const retry = { attempt: attempt(1, 503), status: 'retrying' as const, callback: null, deadLettered: false };
      expect(await store.recordAttempt(jobId, { ...retry, nextAttemptAt: new Date().toISOString() })).toEqual({
        written: true,
        status: 'retrying',
      });
      expect(await store.markScheduled(jobId, 2)).toBe(true);
      expect(await store.beginAttempt(jobId, 2, { token: 'b', ms: 10_000 })).toEqual({
        outcome: 'run',
        attemptsDone: 1,
        webhooks: null,
      });
      const done = { attempt: attempt(2, 200), status: 'completed' as const, nextAttemptAt: null, deadLettered: false };
      expect(await store.recordAttempt(jobId, { ...done, callback: pendingCallback() })).toEqual({
        written: true,
        status: 'completed',
      });
      await store.setCallback(jobId, { ...pendingCallback(), status: 'delivered', attempts: 1 }, 'callbacks_sent');
      expect((await store.getCallback(jobId))?.status).toBe('delivered');

      const view = await store.get(jobId);
      expect(view).toMatchObject({ status: 'completed', attempts: 2 });
      expect((await store.attemptsPage(jobId, 0, 10))?.attempts).toHaveLength(2);
      const replay = await store.specForReplay(jobId);
      expect(replay?.spec.headers.authorization).toBe('Bearer secret-token');

      const byStatus = await searchJobs(store, { statuses: ['completed'] }, 10, null);
      expect(byStatus.items.map((i) => i.jobId)).toEqual([jobId]);
      const byMeta = await searchJobs(store, { metadata: { order: '42' }, targetHost: '127.0.0.1' }, 10, null);
      expect(byMeta.items.map((i) => i.jobId)).toEqual([jobId]);
      expect(await store.counters()).toMatchObject({
        jobs_created: 1,
        jobs_success: 1,
        jobs_retried: 1,
        callbacks_sent: 1,
      });
    }
    // A sum over applications on different masters.
    const totals = await storeOf(DEFAULT_APPLICATION).counters(APPS);
    expect(totals).toMatchObject({ jobs_created: APPS.length, jobs_success: APPS.length });
  });

  it('cancels, replays, undoes a replay, deletes and recreates a missing job', async () => {
    for (const application of APPS) {
      const store = storeOf(application);
      const waiting = randomUUID();
      await store.create({ jobId: waiting, spec, createdAt: new Date(), requestId: null, traceId: 't' });
      expect(await store.cancel(waiting, pendingCallback())).toEqual({ outcome: 'cancelled' });
      expect(await store.replay(waiting, 'r2')).toEqual({ outcome: 'ok', attemptsDone: 0 });
      expect(await store.undoReplay(waiting, 0)).toBe(true);
      expect((await store.get(waiting))?.status).toBe('cancelled');

      const running = randomUUID();
      await store.create({ jobId: running, spec, createdAt: new Date(), requestId: null, traceId: 't' });
      await store.beginAttempt(running, 1, { token: 'a', ms: 10_000 });
      expect(await store.cancel(running, null)).toEqual({ outcome: 'requested' });
      const failed = { attempt: attempt(1, 400), status: 'failed' as const, nextAttemptAt: null, deadLettered: true };
      expect(await store.recordAttempt(running, { ...failed, callback: null })).toMatchObject({ written: true });
      expect((await searchJobs(store, { deadLettered: true }, 10, null)).items.map((i) => i.jobId)).toContain(running);

      const dropped = randomUUID();
      await store.create({ jobId: dropped, spec, createdAt: new Date(), requestId: null, traceId: 't' });
      await store.delete(dropped, spec);
      expect(await store.get(dropped)).toBeNull();
      const recreated = await store.beginAttempt(
        dropped,
        1,
        { token: 'a', ms: 10_000 },
        {
          spec,
          createdAt: new Date().toISOString(),
        },
      );
      expect(recreated).toEqual({ outcome: 'run', attemptsDone: 0, webhooks: null });
    }
  });

  it('refuses over a quota read from the application record in the same slot', async () => {
    const applications = new ApplicationStore(redis, { prefix });
    const { application } = await applications.create({ name: 'q', quotas: { maxUnfinishedJobs: 1 } });
    const store = storeOf(application.id);
    await store.create({ jobId: randomUUID(), spec, createdAt: new Date(), requestId: null, traceId: 't' });
    const second = store.create({ jobId: randomUUID(), spec, createdAt: new Date(), requestId: null, traceId: 't' });
    await expect(second).rejects.toMatchObject({ code: expect.stringContaining('QUOTA') });
  });

  it('waits for a replica when asked (REDIS_WAIT_REPLICAS=1)', async () => {
    const store = storeOf('tenant-a', { waitReplicas: 1, waitTimeoutMs: 2000 });
    const jobId = randomUUID();
    await store.create({ jobId, spec, createdAt: new Date(), requestId: null, traceId: 't' });
    expect((await store.get(jobId))?.status).toBe('queued');
  });

  it("sweeps every application's deadline index, on whichever master it lives", async () => {
    const applications = new ApplicationStore(redis, { prefix });
    const tenants = await Promise.all([1, 2, 3, 4].map((i) => applications.create({ name: `d${i}` })));
    const ids = new Map<string, string>();
    for (const application of [DEFAULT_APPLICATION, ...tenants.map((t) => t.application.id)]) {
      const jobId = randomUUID();
      await storeOf(application).create({
        jobId,
        spec,
        createdAt: new Date(Date.now() - 60_000),
        requestId: null,
        traceId: 't',
      });
      ids.set(jobId, application);
    }
    const index = new DeadlineIndex(redis, prefix);
    const overdue = await index.overdue(Date.now() - 30_000, 100);
    for (const [jobId, application] of ids) {
      const entry = overdue.find((e) => e.jobId === jobId);
      expect(entry, jobId).toMatchObject({ application, job: { status: 'queued' } });
      await index.postpone(entry!, Date.now() + 60_000);
    }
    expect((await index.overdue(Date.now() - 30_000, 100)).filter((e) => ids.has(e.jobId))).toEqual([]);
    expect(await index.size()).toBeGreaterThanOrEqual(ids.size);
    expect(await index.holdLease('one', 5000)).toBe(true);
    expect(await index.holdLease('two', 5000)).toBe(false);
  });

  it('creates, authenticates, lists, rotates and revokes applications across slots', async () => {
    const applications = new ApplicationStore(redis, { prefix, secretKey: randomBytes(32).toString('base64') });
    const { application, apiKey } = await applications.create({ name: 'auth', rateLimit: { max: 5, windowMs: 1000 } });
    expect(await applications.authenticate(apiKey)).toEqual({
      id: application.id,
      rateLimit: { max: 5, windowMs: 1000 },
    });
    expect((await applications.list()).map((a) => a.id)).toContain(application.id);
    expect(await applications.rotateSigningSecret(application.id, 60)).not.toBeNull();
    expect((await applications.signing(application.id))?.secrets).toHaveLength(2);
    await applications.revoke(application.id);
    expect(await applications.authenticate(apiKey)).toBeNull();
  });
});
