import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { redisKeys, RelayError, ServiceUnavailableError } from '@relay/common';
import { canonicalJson, Idempotency } from '../src/services/idempotency.js';

const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };
const keys = redisKeys('test');

/** A Redis stand-in that keeps strings in a Map (SET with NX honoured, TTLs ignored). */
function mapRedis(store = new Map<string, string>()) {
  return {
    store,
    set: async (key: string, value: string, ...args: unknown[]) => {
      if (args.includes('NX') && store.has(key)) return null;
      store.set(key, value);
      return 'OK';
    },
    get: async (key: string) => store.get(key) ?? null,
    del: async (key: string) => Number(store.delete(key)),
  };
}

const answer = { statusCode: 202, headers: {}, body: { jobId: 'j1' } };

describe('Idempotency', () => {
  it('runs the first request and replays its answer to a second with the same body', async () => {
    const redis = mapRedis();
    const idem = new Idempotency(redis as unknown as Redis, keys, silent);
    let runs = 0;
    const accept = async () => (runs++, answer);
    expect(await idem.run('k', { a: 1, b: 2 }, accept)).toEqual({ ...answer, replayed: false });
    expect(await idem.run('k', { b: 2, a: 1 }, accept)).toEqual({ ...answer, replayed: true });
    expect(runs).toBe(1);
  });

  it('refuses the same key with another body', async () => {
    const idem = new Idempotency(mapRedis() as unknown as Redis, keys, silent);
    await idem.run('k', { a: 1 }, async () => answer);
    await expect(idem.run('k', { a: 2 }, async () => answer)).rejects.toMatchObject({
      code: 'RELAY_ERR_IDEMPOTENCY_MISMATCH',
    });
  });

  it('turns a Redis failure into ServiceUnavailableError, without running the request', async () => {
    const broken = { set: async () => Promise.reject(new Error('Connection is closed.')) };
    const idem = new Idempotency(broken as unknown as Redis, keys, silent);
    let ran = false;
    const err = await idem.run('k', {}, async () => ((ran = true), answer)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ServiceUnavailableError);
    expect((err as ServiceUnavailableError).service).toBe('Redis');
    expect(ran).toBe(false);
  });

  it("releases the key when the request fails, and passes the request's error on unchanged", async () => {
    const redis = mapRedis();
    const idem = new Idempotency(redis as unknown as Redis, keys, silent);
    const refused = new ServiceUnavailableError('RabbitMQ', new Error('no confirm'));
    await expect(idem.run('k', {}, async () => Promise.reject(refused))).rejects.toBe(refused);
    expect(redis.store.size).toBe(0);
    const notFound = new RelayError('JOB_NOT_FOUND');
    await expect(idem.run('k', {}, async () => Promise.reject(notFound))).rejects.toBe(notFound);
  });
});

describe('canonicalJson', () => {
  it('sorts object keys at every depth and drops undefined', () => {
    expect(canonicalJson({ b: [{ y: 1, x: 2 }], a: undefined, c: null })).toBe('{"b":[{"x":2,"y":1}],"c":null}');
  });
});
