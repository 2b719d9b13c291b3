import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { RelayError } from '../../src/errors.js';
import type { JobSpec } from '../../src/job-schema.js';
import { JOB_BYTES_ALLOWANCE, type QuotaLimits } from '../../src/quotas.js';
import { ApplicationStore } from '../../src/store/application-store.js';
import { JobStore } from '../../src/store/job-store.js';
import { redisOnRandomPrefix, testSpec } from '../support/store-fixtures.js';

/** create.lua's quota checks against the real Redis, under a random prefix. */
const { prefix, redis } = redisOnRandomPrefix('quotas');
const defaults: QuotaLimits = { maxUnfinishedJobs: 1000, maxStoredBytes: 1_000_000, maxPriority: 'normal' };
const base = new JobStore(redis, { prefix, ttlSeconds: 600, quotas: defaults });
const applications = new ApplicationStore(redis, { prefix });

async function storeOf(quotas: Parameters<ApplicationStore['create']>[0]['quotas']): Promise<JobStore> {
  const { application } = await applications.create({ name: 'q', quotas });
  return base.forApplication(application.id);
}

async function submit(store: JobStore, spec: JobSpec = testSpec()): Promise<RelayError | string> {
  const jobId = randomUUID();
  try {
    await store.create({ jobId, spec, createdAt: new Date(), requestId: 'r', traceId: 't' });
    return jobId;
  } catch (err) {
    if (err instanceof RelayError) return err;
    throw err;
  }
}

describe('quotas in create.lua', () => {
  it('refuses a job past maxUnfinishedJobs without storing it, and takes one again when a job ends', async () => {
    const store = await storeOf({ maxUnfinishedJobs: 2 });
    const first = (await submit(store)) as string;
    expect(typeof (await submit(store))).toBe('string');
    const refused = await submit(store);
    expect(refused).toMatchObject({ statusCode: 429, code: 'RELAY_ERR_QUOTA_EXCEEDED' });
    expect((refused as RelayError).message).toContain('at most 2');
    expect((await store.counters()).jobs_created).toBe(2);
    expect(await redis.zcard(store.keys.indexAll())).toBe(2);

    expect((await store.cancel(first, null)).outcome).toBe('cancelled');
    expect(typeof (await submit(store))).toBe('string');
  });

  it('refuses a job whose bytes would pass maxStoredBytes; counts the spec plus the allowance', async () => {
    const store = await storeOf({ maxStoredBytes: 4 * JOB_BYTES_ALLOWANCE });
    const big = testSpec({ payload: 'x'.repeat(JOB_BYTES_ALLOWANCE) });
    expect(typeof (await submit(store, big))).toBe('string');
    const refused = await submit(store, big);
    expect(refused).toMatchObject({ statusCode: 429, code: 'RELAY_ERR_QUOTA_EXCEEDED' });
    expect((refused as RelayError).message).toContain(`limit of ${4 * JOB_BYTES_ALLOWANCE} bytes`);
    // A small job still fits under the limit.
    expect(typeof (await submit(store))).toBe('string');
    const held = Object.values(await redis.hgetall(store.keys.quotaBytes())).reduce((s, v) => s + Number(v), 0);
    expect(held).toBeGreaterThan(2 * JOB_BYTES_ALLOWANCE);
    expect(held).toBeLessThanOrEqual(4 * JOB_BYTES_ALLOWANCE);
  });

  it('allows priorities up to maxPriority: the server default, or what the record grants', async () => {
    const store = await storeOf(undefined);
    expect(await submit(store, testSpec({ priority: 'high' }))).toMatchObject({
      statusCode: 403,
      code: 'RELAY_ERR_PRIORITY_NOT_ALLOWED',
    });
    expect(typeof (await submit(store, testSpec({ priority: 'normal' })))).toBe('string');
    await applications.update(store.application, { quotas: { maxPriority: 'high' } });
    expect(typeof (await submit(store, testSpec({ priority: 'high' })))).toBe('string');
    await applications.update(store.application, { quotas: { maxPriority: 'low' } });
    expect(await submit(store, testSpec({ priority: 'normal' }))).toMatchObject({ statusCode: 403 });
    // null: back to the server default.
    const back = await applications.update(store.application, { quotas: { maxPriority: null } });
    expect(back?.quotas).toEqual({ maxUnfinishedJobs: null, maxStoredBytes: null, maxPriority: null });
    expect(typeof (await submit(store, testSpec({ priority: 'normal' })))).toBe('string');
  });

  it('checks nothing when the store has no quotas (the worker, tests)', async () => {
    const unchecked = new JobStore(redis, { prefix, ttlSeconds: 600, application: 'app_unchecked' });
    expect(typeof (await submit(unchecked, testSpec({ priority: 'high' })))).toBe('string');
    expect(await redis.exists(unchecked.keys.quotaBytes())).toBe(0);
  });

  it('shows the quotas on the application, null where the server default applies', async () => {
    const { application } = await applications.create({ name: 'shown', quotas: { maxUnfinishedJobs: 5 } });
    expect(application.quotas).toEqual({ maxUnfinishedJobs: 5, maxStoredBytes: null, maxPriority: null });
  });
});
