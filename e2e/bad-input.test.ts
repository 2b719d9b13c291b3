import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type { ApiResponse, RelayClient } from './support/relay-client.js';
import { keysWithPrefix, REDIS_URL } from './support/services.js';
import { requestWithHost } from './support/raw-http.js';
import { startStack, type Stack } from './support/stack.js';

/**
 * Every bad request gets its documented status and a JSON error body, and
 * leaves nothing in the job store. Runs against a real backend process.
 */
let stack: Stack;
let api: RelayClient;
let redis: Redis;

beforeAll(async () => {
  stack = await startStack('badinput', { workers: 0 });
  api = stack.api;
  redis = new Redis(REDIS_URL);
});

afterAll(async () => {
  redis?.disconnect();
  await stack?.stop();
});

function expectJsonError(res: ApiResponse, status: number, code: string): void {
  expect(res.status).toBe(status);
  expect(String(res.headers['content-type'])).toMatch(/^application\/json/);
  expect(res.body).toMatchObject({ statusCode: status, code });
  expect(typeof res.body.message).toBe('string');
  expect(JSON.stringify(res.body)).not.toMatch(/at .*\.(ts|js):\d+/); // no stack trace
}

/** Keys under the stack's prefix, but for the workers' heartbeats (the console's, rewritten every second). */
async function jobStoreKeys(): Promise<string[]> {
  return (await keysWithPrefix(redis, stack.prefix)).filter((key) => !key.startsWith(`${stack.prefix}:workers`));
}

const valid = { targetUrl: 'http://127.0.0.1:9/x' };

const invalidSpecs: [string, unknown, string[]][] = [
  ['missing targetUrl', {}, ['/body/targetUrl']],
  ['ftp targetUrl', { targetUrl: 'ftp://example.test/f' }, ['/body/targetUrl']],
  ['relative targetUrl', { targetUrl: '/just/a/path' }, ['/body/targetUrl']],
  ['unknown method', { ...valid, method: 'TRACE' }, ['/body/method']],
  ['maxRetries too high', { ...valid, maxRetries: 11 }, ['/body/maxRetries']],
  ['maxRetries not an integer', { ...valid, maxRetries: 1.5 }, ['/body/maxRetries']],
  ['maxRetries as a string', { ...valid, maxRetries: '3' }, ['/body/maxRetries']],
  ['retryDelay too small', { ...valid, retryDelay: 99 }, ['/body/retryDelay']],
  ['timeout too large', { ...valid, timeout: 60_001 }, ['/body/timeout']],
  ['callbackUrl not http', { ...valid, callbackUrl: 'mailto:a@b.test' }, ['/body/callbackUrl']],
  ['header name not a token', { ...valid, headers: { 'bad name': 'x' } }, ['/body/headers/bad name']],
  ['header value with CRLF', { ...valid, headers: { 'x-a': 'a\r\nInjected: 1' } }, ['/body/headers/x-a']],
  ['reserved header', { ...valid, headers: { Host: 'evil.test' } }, ['/body/headers/Host']],
  [
    'headers over 32 KiB in all',
    { ...valid, headers: Object.fromEntries(['x-a', 'x-b', 'x-c', 'x-d', 'x-e'].map((h) => [h, 'v'.repeat(8000)])) },
    ['/body/headers'],
  ],
  ['unknown fields', { ...valid, retries: 3, extra: true }, ['/body/retries', '/body/extra']],
  [
    'several problems at once',
    { targetUrl: 'nope', method: 'FOO', maxRetries: -1, timeout: 5, bogus: 1 },
    ['/body/targetUrl', '/body/method', '/body/maxRetries', '/body/timeout', '/body/bogus'],
  ],
  ['a JSON array', [valid], ['/body']],
];

describe('bad input', () => {
  it.each(invalidSpecs)('%s → 400 naming every problem', async (_name, spec, paths) => {
    const res = await api.submit(spec);
    expectJsonError(res, 400, 'RELAY_ERR_VALIDATION');
    const reported = (res.body.details as { path: string }[]).map((d) => d.path);
    for (const p of paths) expect(reported).toContain(p);
  });

  it('malformed JSON → 400', async () => {
    const res = await api.send('POST', '/api/jobs', '{"targetUrl": ', { 'content-type': 'application/json' });
    expectJsonError(res, 400, 'RELAY_ERR_INVALID_JSON');
  });

  it('empty JSON body → 400', async () => {
    const res = await api.send('POST', '/api/jobs', '', { 'content-type': 'application/json' });
    expectJsonError(res, 400, 'RELAY_ERR_INVALID_JSON');
  });

  it('wrong content type → 415', async () => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/xml']) {
      const res = await api.send('POST', '/api/jobs', JSON.stringify(valid), { 'content-type': type });
      expectJsonError(res, 415, 'RELAY_ERR_UNSUPPORTED_MEDIA_TYPE');
    }
  });

  it('a body over the limit → 413', async () => {
    const res = await api.submit({ ...valid, payload: 'x'.repeat(1_100_000) });
    expectJsonError(res, 413, 'RELAY_ERR_BODY_TOO_LARGE');
  });

  it('a malformed job id → 400, an unknown one → 404, on both paths', async () => {
    for (const base of ['/api/job/', '/api/jobs/']) {
      expectJsonError(await api.send('GET', `${base}not-a-uuid`), 400, 'RELAY_ERR_VALIDATION');
      expectJsonError(
        await api.send('GET', `${base}6f1c1b4e-8d0a-4a53-9d55-3f1f5a0e2b7c`),
        404,
        'RELAY_ERR_JOB_NOT_FOUND',
      );
    }
  });

  it('an unknown route → 404 JSON, not HTML', async () => {
    expectJsonError(await api.send('GET', '/nope'), 404, 'RELAY_ERR_NOT_FOUND');
  });

  it('a Host header that is not loopback (keys-off mode) → 421, even with a valid job', async () => {
    const port = new URL(api.baseUrl).port;
    for (const [method, body] of [
      ['POST', valid],
      ['GET', undefined],
    ] as const) {
      const res = await requestWithHost(api.baseUrl, {
        method,
        path: '/api/jobs',
        host: `rebound.example:${port}`,
        body,
      });
      expectJsonError(
        { status: res.status, headers: res.headers, body: res.body } as ApiResponse,
        421,
        'RELAY_ERR_MISDIRECTED_HOST',
      );
    }
  });

  it('leaves nothing in the job store for rejected requests', async () => {
    expect(await jobStoreKeys()).toEqual([]);
  });

  // Strict inputs: refused at submission rather than accepted with 202 and failed
  // at send time. Sent with an Idempotency-Key: a refused request claims none.
  const detailsOf = (res: ApiResponse) => res.body.details as { path: string; message: string }[];

  it.each([
    ['a control character (ESC)', '\u001b[0m'],
    ['a vertical tab', 'a\u000bb'],
    ['DEL', 'a\u007f'],
    ['a character above Latin-1 (euro sign)', '5 \u20ac'],
    ['an emoji', 'ok \u{1f600}'],
  ])('a header value with %s → 400 naming the header, nothing stored', async (_name, value) => {
    const res = await api.submit(
      { ...valid, headers: { 'x-ok': 'caf\u00e9\tok', 'x-bad': value } },
      { 'idempotency-key': 'strict-inputs' },
    );
    expectJsonError(res, 400, 'RELAY_ERR_VALIDATION');
    expect(detailsOf(res)).toEqual([
      { path: '/body/headers/x-bad', message: expect.stringMatching(/Latin-1.*control characters/) },
    ]);
    expect(await jobStoreKeys()).toEqual([]);
  });

  it('a targetUrl or callbackUrl with user info → 400 naming each URL, nothing stored', async () => {
    const res = await api.submit(
      { targetUrl: 'http://user:pass@127.0.0.1:9/x', callbackUrl: 'http://token@127.0.0.1:9/cb' },
      { 'idempotency-key': 'strict-inputs' },
    );
    expectJsonError(res, 400, 'RELAY_ERR_VALIDATION');
    const message = 'must not contain user info (user:password@); send credentials in headers';
    expect(detailsOf(res)).toEqual([
      { path: '/body/targetUrl', message },
      { path: '/body/callbackUrl', message },
    ]);
    expect(await jobStoreKeys()).toEqual([]);
  });

  it('user info and a bad header value together → one 400 naming both', async () => {
    const res = await api.submit({ targetUrl: 'http://u@127.0.0.1:9/x', headers: { 'x-a': 'a\u0001' } });
    expectJsonError(res, 400, 'RELAY_ERR_VALIDATION');
    expect(
      detailsOf(res)
        .map((d) => d.path)
        .sort(),
    ).toEqual(['/body/headers/x-a', '/body/targetUrl']);
    expect(await jobStoreKeys()).toEqual([]);
  });
});

/**
 * Refusals that need keys: quotas, the priority grant, the master key's
 * routes, the /metrics token and the per-IP limit on strangers. Each gets its
 * status and JSON error, and stores no job: the application's jobs are
 * counted before and after.
 */
describe('bad input from key holders and strangers', () => {
  const masterKey = randomBytes(32).toString('base64');
  const metricsToken = randomBytes(24).toString('hex');
  const STRANGER_MAX = 2;
  let keyed: Stack;
  let master: RelayClient;

  beforeAll(async () => {
    keyed = await startStack('badinput-keyed', {
      workers: 0,
      env: {
        RELAY_AUTH: 'on',
        RELAY_MASTER_KEY: masterKey,
        METRICS_TOKEN: metricsToken,
        STRANGER_LIMIT_MAX: String(STRANGER_MAX),
      },
    });
    master = keyed.api.withKey(masterKey);
  });

  afterAll(async () => {
    await keyed?.stop();
  });

  /** Job hashes stored under the stack's prefix (whatever the key layout around `:job:<uuid>`). */
  const storedJobs = async () =>
    (await keysWithPrefix(redis, keyed.prefix)).filter((k) => /:job:[0-9a-f-]{36}$/.test(k)).length;

  async function application(quotas?: Record<string, unknown>): Promise<{ id: string; api: RelayClient }> {
    const res = await master.json('POST', '/api/applications', { name: 'bad input', ...(quotas ? { quotas } : {}) });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return { id: res.body.id, api: keyed.api.withKey(res.body.apiKey) };
  }

  it('a job past maxUnfinishedJobs → 429 with Retry-After, not stored', async () => {
    const { api: app } = await application({ maxUnfinishedJobs: 1 });
    await app.submitOk(valid);
    const before = await storedJobs();
    const res = await app.submit(valid);
    expectJsonError(res, 429, 'RELAY_ERR_QUOTA_EXCEEDED');
    expect(res.body.message).toContain('maxUnfinishedJobs');
    expect(res.headers['retry-after']).toBe('1');
    expect(await storedJobs()).toBe(before);
  });

  it('a job past maxStoredBytes → 429 naming the byte limit, not stored', async () => {
    const { api: app } = await application({ maxStoredBytes: 4096 });
    await app.submitOk({ ...valid, payload: 'x'.repeat(2500) });
    const before = await storedJobs();
    const res = await app.submit({ ...valid, payload: 'x'.repeat(2500) });
    expectJsonError(res, 429, 'RELAY_ERR_QUOTA_EXCEEDED');
    expect(res.body.message).toContain('maxStoredBytes');
    expect(await storedJobs()).toBe(before);
  });

  it('priority high without a grant → 403, not stored', async () => {
    const { api: app } = await application();
    const before = await storedJobs();
    expectJsonError(await app.submit({ ...valid, priority: 'high' }), 403, 'RELAY_ERR_PRIORITY_NOT_ALLOWED');
    expect(await storedJobs()).toBe(before);
  });

  it('an application key changing its own quotas → 403, quotas unchanged', async () => {
    const { id, api: app } = await application({ maxUnfinishedJobs: 1 });
    const res = await app.json('PATCH', `/api/applications/${id}`, { quotas: { maxUnfinishedJobs: 1000 } });
    expectJsonError(res, 403, 'RELAY_ERR_FORBIDDEN');
    const seen = await master.send('GET', `/api/applications/${id}`);
    expect(seen.body.quotas).toMatchObject({ maxUnfinishedJobs: 1 });
  });

  it('/metrics without its token, or with an API key → 401', async () => {
    for (const key of [null, masterKey]) {
      expectJsonError(await keyed.api.withKey(key).send('GET', '/metrics'), 401, 'RELAY_ERR_UNAUTHORIZED');
    }
  });

  // Last: once over the limit, 127.0.0.1 (this file's address) is refused on this stack.
  it('a stranger past STRANGER_LIMIT_MAX unkeyed requests → 429 with Retry-After, nothing stored', async () => {
    const before = await storedJobs();
    for (let i = 0; i < STRANGER_MAX; i++) {
      expectJsonError(await keyed.api.withKey(`rk_guess_${i}`).submit(valid), 401, 'RELAY_ERR_UNAUTHORIZED');
    }
    const over = await keyed.api.withKey('rk_guess_over').submit(valid);
    expectJsonError(over, 429, 'RELAY_ERR_TOO_MANY_UNAUTHORIZED');
    expect(Number(over.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(await storedJobs()).toBe(before);
  });
});
