import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { startBackend } from './support/processes.js';
import { RelayClient } from './support/relay-client.js';
import { keysWithPrefix, REDIS_URL } from './support/services.js';
import { startStack, type Stack } from './support/stack.js';

/**
 * Idempotency-Key fingerprints are keyed with the server secret: backends that
 * share Redis and RELAY_SECRET_KEY replay each other's answers, and what Redis
 * holds is not a hash anyone can recompute from a guessed body.
 */
let stack: Stack;
let redis: Redis;
const secretKey = randomBytes(32).toString('base64');

beforeAll(async () => {
  stack = await startStack('idemfp', { workers: 0, env: { RELAY_SECRET_KEY: secretKey } });
  redis = new Redis(REDIS_URL);
});

afterAll(async () => {
  redis?.disconnect();
  await stack?.stop();
});

/** The body as the backend fingerprints it: defaults filled in, keys sorted. */
const body = {
  targetUrl: 'http://127.0.0.1:9/charge',
  method: 'POST',
  headers: { authorization: 'Bearer guess-me' },
  payload: { orderId: 42 },
};

function sortedJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(sortedJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${sortedJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

describe('Idempotency-Key fingerprints', () => {
  it('two backends with the same secret replay one answer; Redis holds no plain hash of the body', async () => {
    const second = await stack.addBackend();
    const key = { 'idempotency-key': `fp-${Date.now()}` };
    const first = await stack.api.submit(body, key);
    expect(first.status).toBe(202);
    const again = await second.submit(body, key);
    expect(again.status).toBe(202);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body.jobId).toBe(first.body.jobId);

    const idemKeys = (await keysWithPrefix(redis, stack.prefix)).filter((k) => k.includes(':idem:'));
    expect(idemKeys).toHaveLength(1);
    const stored = JSON.parse((await redis.get(idemKeys[0]!))!) as { fingerprint: string };
    expect(stored.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    // What an unkeyed fingerprint would be: SHA-256 of the spec as accepted, keys sorted.
    const accepted = { ...body, maxRetries: 3, retryDelay: 1000, timeout: 10_000, priority: 'normal' };
    expect(stored.fingerprint).not.toBe(createHash('sha256').update(sortedJson(accepted)).digest('hex'));
    expect(JSON.stringify(stored)).not.toContain('guess-me');
  });

  it('a backend with another secret does not match the fingerprint (422)', async () => {
    const key = { 'idempotency-key': `fp-other-${Date.now()}` };
    expect((await stack.api.submit(body, key)).status).toBe(202);
    const { proc, baseUrl } = await startBackend({
      ...stack.env,
      RELAY_SECRET_KEY: randomBytes(32).toString('base64'),
    });
    try {
      const res = await new RelayClient(baseUrl).submit(body, key);
      expect(res.status).toBe(422);
      expect(res.body.code).toBe('RELAY_ERR_IDEMPOTENCY_MISMATCH');
    } finally {
      await proc.stop();
    }
  });
});
