import { createHash, randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { redisKeys, RelayError, ServiceUnavailableError } from '@relay/common';
import { fingerprintKey } from '../src/services/fingerprint-key.js';
import { canonicalJson, fingerprint, Idempotency } from '../src/services/idempotency.js';

const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };
const keys = redisKeys('test');
const KEY = fingerprintKey({ secretKey: randomBytes(32).toString('base64'), masterKey: '' });

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
    const idem = new Idempotency(redis as unknown as Redis, keys, silent, KEY);
    let runs = 0;
    const accept = async () => (runs++, answer);
    expect(await idem.run('k', { a: 1, b: 2 }, accept)).toEqual({ ...answer, replayed: false });
    expect(await idem.run('k', { b: 2, a: 1 }, accept)).toEqual({ ...answer, replayed: true });
    expect(runs).toBe(1);
  });

  it('refuses the same key with another body', async () => {
    const idem = new Idempotency(mapRedis() as unknown as Redis, keys, silent, KEY);
    await idem.run('k', { a: 1 }, async () => answer);
    await expect(idem.run('k', { a: 2 }, async () => answer)).rejects.toMatchObject({
      code: 'RELAY_ERR_IDEMPOTENCY_MISMATCH',
    });
  });

  it('turns a Redis failure into ServiceUnavailableError, without running the request', async () => {
    const broken = { set: async () => Promise.reject(new Error('Connection is closed.')) };
    const idem = new Idempotency(broken as unknown as Redis, keys, silent, KEY);
    let ran = false;
    const err = await idem.run('k', {}, async () => ((ran = true), answer)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ServiceUnavailableError);
    expect((err as ServiceUnavailableError).service).toBe('Redis');
    expect(ran).toBe(false);
  });

  it("releases the key when the request fails, and passes the request's error on unchanged", async () => {
    const redis = mapRedis();
    const idem = new Idempotency(redis as unknown as Redis, keys, silent, KEY);
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

describe('fingerprints', () => {
  const body = { targetUrl: 'https://api.example/', headers: { authorization: 'Bearer 1234' } };
  const secretKey = randomBytes(32).toString('base64');
  const masterKey = 'm'.repeat(40);

  it('stores an HMAC of the body, not its SHA-256', async () => {
    const redis = mapRedis();
    await new Idempotency(redis as unknown as Redis, keys, silent, KEY).run('k', body, async () => answer);
    const stored = JSON.parse([...redis.store.values()][0]!) as { fingerprint: string };
    expect(stored.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(stored.fingerprint).not.toBe(createHash('sha256').update(canonicalJson(body)).digest('hex'));
    expect(stored.fingerprint).toBe(fingerprint(body, KEY));
  });

  it('is the same on two backends with the same secret, so either replays the other', async () => {
    const redis = mapRedis();
    const first = new Idempotency(redis as unknown as Redis, keys, silent, fingerprintKey({ secretKey, masterKey }));
    const second = new Idempotency(redis as unknown as Redis, keys, silent, fingerprintKey({ secretKey, masterKey }));
    let runs = 0;
    const accept = async () => (runs++, answer);
    expect(await first.run('k', body, accept)).toEqual({ ...answer, replayed: false });
    expect(await second.run('k', body, accept)).toEqual({ ...answer, replayed: true });
    expect(runs).toBe(1);
  });

  it('derives its key from RELAY_SECRET_KEY, else RELAY_MASTER_KEY, else a fixed public key', () => {
    const withSecret = fingerprintKey({ secretKey, masterKey });
    const withMaster = fingerprintKey({ secretKey: '', masterKey });
    const withNeither = fingerprintKey({ secretKey: '', masterKey: '' });
    expect(withSecret.equals(fingerprintKey({ secretKey, masterKey: '' }))).toBe(true);
    expect(withSecret.equals(withMaster)).toBe(false);
    expect(withMaster.equals(withNeither)).toBe(false);
    expect(withNeither.equals(fingerprintKey({ secretKey: '', masterKey: '' }))).toBe(true);
    expect(fingerprint(body, withSecret)).not.toBe(fingerprint(body, withMaster));
    // The derived key is not the secret itself (it is used for nothing else).
    expect(withSecret.equals(Buffer.from(secretKey, 'base64'))).toBe(false);
  });
});
