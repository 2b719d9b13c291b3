import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ServiceUnavailableError } from '../../src/errors.js';
import { JobStore } from '../../src/store/job-store.js';
import { redisOnRandomPrefix, testSpec } from '../support/store-fixtures.js';

/**
 * REDIS_WAIT_REPLICAS against the shared test Redis, which has no replicas:
 * a wait for one replica cannot be met, so the job is refused and removed;
 * a wait for zero replicas is met at once.
 */
const { prefix, redis } = redisOnRandomPrefix('wait');

describe('create with REDIS_WAIT_REPLICAS', () => {
  it('refuses (503) and removes a job fewer replicas than asked acknowledged', async () => {
    const store = new JobStore(redis, { prefix, ttlSeconds: 600, waitReplicas: 1, waitTimeoutMs: 300 });
    const jobId = randomUUID();
    const create = store.create({ jobId, spec: testSpec(), createdAt: new Date(), requestId: null, traceId: 't' });
    await expect(create).rejects.toBeInstanceOf(ServiceUnavailableError);
    expect(await store.get(jobId)).toBeNull();
    expect(await redis.zcard(store.keys.indexAll())).toBe(0);
    expect(await redis.zscore(store.keys.deadlines(), jobId)).toBeNull();
    // Within the next timeout the application's creations are refused without a write.
    const next = randomUUID();
    const again = store.create({ jobId: next, spec: testSpec(), createdAt: new Date(), requestId: null, traceId: 't' });
    const refused = (await again.catch((err: unknown) => err)) as ServiceUnavailableError;
    expect(refused).toBeInstanceOf(ServiceUnavailableError);
    expect(String(refused.cause)).toMatch(/refused at once/);
  });

  it('stores the job when the wait is met', async () => {
    const store = new JobStore(redis, { prefix, ttlSeconds: 600, waitReplicas: 0 });
    const jobId = randomUUID();
    await store.create({ jobId, spec: testSpec(), createdAt: new Date(), requestId: null, traceId: 't' });
    expect((await store.get(jobId))?.status).toBe('queued');
  });
});
