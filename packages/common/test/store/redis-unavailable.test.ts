import { randomBytes, randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { ServiceUnavailableError } from '../../src/errors.js';
import type { JobSpec } from '../../src/job-schema.js';
import { ApplicationStore } from '../../src/store/application-store.js';
import { searchJobs } from '../../src/store/job-search.js';
import { JobStore } from '../../src/store/job-store.js';

/**
 * A store whose Redis fails throws ServiceUnavailableError('Redis'), never
 * the raw ioredis error: no server on the port (a closed loopback port, no
 * retry), or an error reply from the server.
 */
const down = new Redis({
  host: '127.0.0.1',
  port: 1,
  lazyConnect: true,
  enableOfflineQueue: false,
  maxRetriesPerRequest: 0,
  retryStrategy: () => null,
});
down.on('error', () => undefined);
const prefix = `t-unavail-${randomBytes(4).toString('hex')}`;
const up = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');

afterAll(async () => {
  down.disconnect();
  const keys = await up.keys(`${prefix}:*`);
  if (keys.length) await up.del(...keys);
  up.disconnect();
});

async function redisFailure(call: Promise<unknown>): Promise<ServiceUnavailableError> {
  const err = await call.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ServiceUnavailableError);
  expect((err as ServiceUnavailableError).service).toBe('Redis');
  expect((err as ServiceUnavailableError).statusCode).toBe(503);
  return err as ServiceUnavailableError;
}

describe('stores when Redis fails', () => {
  const jobs = new JobStore(down, { prefix, ttlSeconds: 60 });
  const apps = new ApplicationStore(down, { prefix });
  const spec: JobSpec = {
    targetUrl: 'http://127.0.0.1:9/',
    method: 'GET',
    headers: {},
    payload: null,
    maxRetries: 0,
    retryDelay: 1,
    timeout: 1,
    priority: 'normal',
  };

  it.each<[string, () => Promise<unknown>]>([
    [
      'JobStore.create (a script)',
      () => jobs.create({ jobId: randomUUID(), spec, createdAt: new Date(), requestId: null, traceId: '' }),
    ],
    ['JobStore.get (a pipeline)', () => jobs.get(randomUUID())],
    ['JobStore.delete (a MULTI)', () => jobs.delete(randomUUID(), spec)],
    ['JobStore.getCallback (one command)', () => jobs.getCallback(randomUUID())],
    ['JobStore.counters', () => jobs.counters()],
    ['searchJobs', () => searchJobs(jobs, {}, 10, null)],
    ['ApplicationStore.authenticate (a script)', () => apps.authenticate('rk_x')],
    ['ApplicationStore.list', () => apps.list()],
    ['ApplicationStore.create (a MULTI)', () => apps.create({ name: 'x' })],
  ])('%s: no connection', async (_label, call) => {
    const err = await redisFailure(call());
    expect(err.cause).toBeInstanceOf(Error);
  });

  it('an error reply from the server (here WRONGTYPE) is unavailable too, with the reply as cause', async () => {
    const store = new JobStore(up, { prefix, ttlSeconds: 60 });
    const jobId = randomUUID();
    await up.set(store.keys.job(jobId), 'not a hash', 'EX', 60);
    const err = await redisFailure(store.get(jobId));
    expect(String((err.cause as Error).message)).toMatch(/WRONGTYPE/);
    await redisFailure(store.beginAttempt(jobId, 1, { token: 't', ms: 1000 }));
  });
});
