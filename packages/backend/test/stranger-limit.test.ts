import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RelayError, redisKeys } from '@relay/common';
import { installStrangerLimit, strangerVerdict } from '../src/edge/stranger-limit.js';
import { installErrorHandling } from '../src/error-handler.js';
import { redisOnRandomPrefix } from '../../common/test/support/store-fixtures.js';

/**
 * The per-IP limit on refused requests, on a bare Fastify with the real
 * Redis (random prefix). The hook below uses it as the auth hook does:
 * refuse when over, count each 401. The key `good` is valid.
 */
const MAX = 3;
const WINDOW_MS = 60_000;
const { prefix, redis } = redisOnRandomPrefix('stranger');
let app: FastifyInstance;

beforeAll(async () => {
  app = Fastify();
  installErrorHandling(app);
  installStrangerLimit(app, { redis, prefix, max: MAX, windowMs: WINDOW_MS });
  app.addHook('onRequest', async (request) => {
    await app.strangers.refuseIfOver(request);
    if (request.headers['x-api-key'] !== 'good') {
      throw (await app.strangers.countRefusal(request)) ?? new RelayError('UNAUTHORIZED');
    }
  });
  app.get('/api/jobs', async () => ({ ok: true }));
  await app.ready();
});
afterAll(() => app.close());

const call = (remoteAddress: string, key?: string) =>
  app.inject({ method: 'GET', url: '/api/jobs', remoteAddress, headers: key ? { 'x-api-key': key } : {} });

describe('stranger limit (401s per client IP)', () => {
  it('answers 401 up to the limit, then 429 with Retry-After and a stable code', async () => {
    for (let i = 0; i < MAX; i++) expect((await call('10.1.1.1', `guess-${i}`)).statusCode).toBe(401);
    const over = await call('10.1.1.1', 'guess-over');
    expect(over.statusCode).toBe(429);
    expect(over.json()).toMatchObject({ code: 'RELAY_ERR_TOO_MANY_UNAUTHORIZED' });
    expect(Number(over.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    // No key at all counts the same.
    expect((await call('10.1.1.1')).statusCode).toBe(429);
  });

  it('refuses even a valid key from an IP over the limit, so a right guess is not told apart', async () => {
    expect((await call('10.1.1.1', 'good')).statusCode).toBe(429);
  });

  it('counts each IP apart, and valid keys do not count', async () => {
    for (let i = 0; i < MAX * 3; i++) expect((await call('10.2.2.2', 'good')).statusCode).toBe(200);
    expect((await call('10.3.3.3', 'guess')).statusCode).toBe(401);
    expect((await call('10.2.2.2', 'guess')).statusCode).toBe(401);
  });
});

describe('stranger limit state', () => {
  it('is kept under the key built in keys/, expiring with the window', async () => {
    const key = redisKeys(prefix).strangerCount('10.3.3.3');
    expect(await redis.get(key)).toBe('1');
    const ttl = await redis.pttl(key);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(WINDOW_MS);
  });

  it('decides from the count and the window left (pure)', () => {
    expect(strangerVerdict({ count: MAX, ttlMs: 5000 }, MAX, WINDOW_MS)).toBeNull();
    expect(strangerVerdict({ count: MAX + 1, ttlMs: 1500 }, MAX, WINDOW_MS)?.headers).toEqual({ 'retry-after': '2' });
    expect(strangerVerdict({ count: MAX + 1, ttlMs: 10 }, MAX, WINDOW_MS)?.headers).toEqual({ 'retry-after': '1' });
    expect(strangerVerdict({ count: MAX + 9, ttlMs: -1 }, MAX, WINDOW_MS)?.headers).toEqual({ 'retry-after': '60' });
  });
});
