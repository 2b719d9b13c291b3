import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reply, TestServer } from './support/http-servers.js';
import type { RelayClient } from './support/relay-client.js';
import { readEverything, REDIS_URL } from './support/services.js';
import { startStack, type Stack } from './support/stack.js';

/**
 * Safe to expose: API keys and applications (tenants), per-application rate
 * limits shared by two backends through Redis, and Idempotency-Key.
 */
let stack: Stack;
let master: RelayClient;
const target = new TestServer();
const masterKey = randomBytes(32).toString('base64');
/** Every API key and signing secret handed out, to look for in logs and Redis. */
const issued: string[] = [];

beforeAll(async () => {
  await target.listen();
  target.on('/ok', (_req, res) => reply(res, 200, '{"ok":true}', { 'content-type': 'application/json' }));
  // With RELAY_SECRET_KEY, signing secrets rest sealed (see the last test).
  stack = await startStack('auth', {
    env: { RELAY_AUTH: 'on', RELAY_MASTER_KEY: masterKey, RELAY_SECRET_KEY: randomBytes(32).toString('base64') },
  });
  master = stack.api.withKey(masterKey);
});

afterAll(async () => {
  await stack?.stop();
  await target.close();
});

/** Creates an application and returns its client and record. */
async function createApplication(
  name: string,
  extra: Record<string, unknown> = {},
): Promise<{ id: string; api: RelayClient }> {
  const res = await master.json('POST', '/api/applications', { name, ...extra });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  expect(res.body.apiKey).toMatch(/^rk_/);
  expect(res.body.signingSecret).toMatch(/^whsec_/);
  issued.push(res.body.apiKey, res.body.signingSecret);
  return { id: res.body.id, api: stack.api.withKey(res.body.apiKey) };
}

function expectError(res: { status: number; body: any }, status: number, code: string): void {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.body).toMatchObject({ statusCode: status, code });
  expect(typeof res.body.message).toBe('string');
}

describe('API keys', () => {
  it('refuses a request without a key, with a wrong key, or with a revoked key (401, JSON)', async () => {
    const anonymous = stack.api;
    const noKey = await anonymous.submit({ targetUrl: target.url('/ok') });
    expectError(noKey, 401, 'RELAY_ERR_UNAUTHORIZED');
    expect(noKey.headers['www-authenticate']).toContain('Bearer');
    expectError(await anonymous.send('GET', '/api/jobs'), 401, 'RELAY_ERR_UNAUTHORIZED');

    const wrong = anonymous.withKey(`rk_${randomBytes(32).toString('base64url')}`);
    expectError(await wrong.submit({ targetUrl: target.url('/ok') }), 401, 'RELAY_ERR_UNAUTHORIZED');
    // The same key in x-api-key form.
    expectError(
      await anonymous.send('GET', '/api/jobs', undefined, { 'x-api-key': 'rk_nope' }),
      401,
      'RELAY_ERR_UNAUTHORIZED',
    );

    const { id, api } = await createApplication('soon revoked');
    expect((await api.send('GET', '/api/jobs')).status).toBe(200);
    const revoked = await master.send('DELETE', `/api/applications/${id}`);
    expect(revoked.status).toBe(200);
    expect(revoked.body.revokedAt).toEqual(expect.any(String));
    // At once: the very next request fails.
    expectError(await api.send('GET', '/api/jobs'), 401, 'RELAY_ERR_UNAUTHORIZED');
    expectError(await api.submit({ targetUrl: target.url('/ok') }), 401, 'RELAY_ERR_UNAUTHORIZED');
  });

  it('accepts the key as a Bearer token or as x-api-key; public routes need none', async () => {
    const created = await master.json('POST', '/api/applications', { name: 'two forms' });
    const key = created.body.apiKey as string;
    expect((await stack.api.send('GET', '/api/jobs', undefined, { 'x-api-key': key })).status).toBe(200);
    expect((await stack.api.withKey(key).send('GET', '/api/jobs')).status).toBe(200);
    for (const path of ['/health', '/metrics', '/docs/json']) {
      expect((await stack.api.send('GET', path)).status, path).toBe(200);
    }
  });

  it("keeps applications apart: another application's job is a 404 and never listed", async () => {
    const a = await createApplication('tenant a');
    const b = await createApplication('tenant b');
    const jobId = await a.api.submitOk({ targetUrl: target.url('/ok'), metadata: { tenant: 'a' } });
    const done = await a.api.waitFinal(jobId);
    expect(done.status).toBe('completed');

    expectError(await b.api.job(jobId), 404, 'RELAY_ERR_JOB_NOT_FOUND');
    expectError(await b.api.send('GET', `/api/job/${jobId}/attempts`), 404, 'RELAY_ERR_JOB_NOT_FOUND');
    expectError(await b.api.send('POST', `/api/job/${jobId}/cancel`), 404, 'RELAY_ERR_JOB_NOT_FOUND');
    expectError(await b.api.send('POST', `/api/job/${jobId}/replay`), 404, 'RELAY_ERR_JOB_NOT_FOUND');
    expect((await b.api.send('GET', '/api/jobs?metadata.tenant=a')).body.jobs).toEqual([]);
    expect((await b.api.send('GET', '/api/jobs')).body.jobs).toEqual([]);
    const listed = (await a.api.send('GET', '/api/jobs?metadata.tenant=a')).body.jobs;
    expect(listed.map((j: { jobId: string }) => j.jobId)).toEqual([jobId]);

    // Counters: each application its own; the master key sees the sum.
    expect((await a.api.send('GET', '/api/metrics')).body).toMatchObject({ jobs_created: 1, jobs_success: 1 });
    expect((await b.api.send('GET', '/api/metrics')).body).toMatchObject({ jobs_created: 0, jobs_success: 0 });
    const all = (await master.send('GET', '/api/metrics')).body;
    expect(all.jobs_created).toBeGreaterThanOrEqual(1);

    // Prometheus: accepted jobs are labelled by application.
    const text = (await stack.api.send('GET', '/metrics')).body as string;
    expect(text).toContain(`relay_jobs_accepted_total{application="${a.id}"} 1`);
    const workerText = await (await fetch(`http://127.0.0.1:${stack.workers[0]!.metricsPort}/metrics`)).text();
    expect(workerText).toContain(`relay_jobs_finished_total{status="completed",application="${a.id}"} 1`);
  });

  it('keeps master routes for the master key and job routes for application keys (403)', async () => {
    const { api } = await createApplication('not an admin');
    expectError(await api.json('POST', '/api/applications', { name: 'x' }), 403, 'RELAY_ERR_FORBIDDEN');
    expectError(await api.send('GET', '/api/applications'), 403, 'RELAY_ERR_FORBIDDEN');
    expectError(await master.submit({ targetUrl: target.url('/ok') }), 403, 'RELAY_ERR_FORBIDDEN');
    expectError(await master.send('GET', '/api/jobs'), 403, 'RELAY_ERR_FORBIDDEN');

    const list = await master.send('GET', '/api/applications');
    expect(list.status).toBe(200);
    // Listed without any key material.
    const names = list.body.applications.map((a: { name: string }) => a.name);
    expect(names).toContain('not an admin');
    expect(JSON.stringify(list.body)).not.toMatch(/rk_|whsec_|keyHash/);
    expectError(await master.send('GET', '/api/applications/app_missing'), 404, 'RELAY_ERR_APPLICATION_NOT_FOUND');
  });
});

describe('rate limits', () => {
  /** A second backend on the same Redis, stopped with the stack. */
  let second: RelayClient;

  beforeAll(async () => {
    second = await stack.addBackend();
  });

  it("counts an application's requests across two backends sharing Redis: 429 with Retry-After and RateLimit-*", async () => {
    const { id, api } = await createApplication('limited', { rateLimit: { max: 10, windowMs: 60_000 } });
    const other = second.withKey(api.apiKey);
    // 16 requests alternating between the two backends.
    const answers = [];
    for (let i = 0; i < 16; i++) answers.push(await (i % 2 === 0 ? api : other).send('GET', '/api/jobs?limit=1'));
    const ok = answers.filter((r) => r.status === 200);
    const limited = answers.filter((r) => r.status === 429);
    expect(ok.length).toBe(10);
    expect(limited.length).toBe(6);
    // Both backends refused some: the count is shared, not per process.
    expect(answers.filter((r, i) => r.status === 429 && i % 2 === 0).length).toBeGreaterThan(0);
    expect(answers.filter((r, i) => r.status === 429 && i % 2 === 1).length).toBeGreaterThan(0);

    expect(ok[0]!.headers['ratelimit-limit']).toBe('10');
    expect(ok[0]!.headers['ratelimit-remaining']).toBe('9');
    expect(ok.at(-1)!.headers['ratelimit-remaining']).toBe('0');
    for (const res of limited) {
      expectError(res, 429, 'RELAY_ERR_RATE_LIMITED');
      const retryAfter = Number(res.headers['retry-after']);
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(60);
      expect(res.headers['ratelimit-limit']).toBe('10');
      expect(res.headers['ratelimit-remaining']).toBe('0');
      expect(Number(res.headers['ratelimit-reset'])).toBe(retryAfter);
    }

    // Another application has its own budget; the master can raise this one's.
    const fresh = await createApplication('unlimited neighbour');
    expect((await fresh.api.send('GET', '/api/jobs')).status).toBe(200);
    const patched = await master.json('PATCH', `/api/applications/${id}`, {
      rateLimit: { max: 100, windowMs: 60_000 },
    });
    expect(patched.status).toBe(200);
    expect(patched.body.rateLimit).toEqual({ max: 100, windowMs: 60_000 });
    const after = await api.send('GET', '/api/jobs');
    expect(after.status).toBe(200);
    expect(after.headers['ratelimit-limit']).toBe('100');
  });
});

describe('Idempotency-Key', () => {
  it('answers a repeat with the original job; a different body is a 422', async () => {
    const { api } = await createApplication('idempotent');
    const key = `order-${randomBytes(6).toString('hex')}`;
    const spec = { targetUrl: target.url('/ok'), method: 'POST', payload: { order: 1 } };
    const first = await api.submit(spec, { 'idempotency-key': key });
    expect(first.status).toBe(202);
    // Same body, keys in another order: the same request.
    const again = await api.submit(
      { payload: { order: 1 }, method: 'POST', targetUrl: target.url('/ok') },
      {
        'idempotency-key': key,
      },
    );
    expect(again.status).toBe(202);
    expect(again.body.jobId).toBe(first.body.jobId);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.headers.location).toBe(first.headers.location);

    const different = await api.submit({ ...spec, payload: { order: 2 } }, { 'idempotency-key': key });
    expectError(different, 422, 'RELAY_ERR_IDEMPOTENCY_MISMATCH');

    // Keys are per application: another application's identical key makes its own job.
    const other = await createApplication('idempotent neighbour');
    const theirs = await other.api.submit(spec, { 'idempotency-key': key });
    expect(theirs.status).toBe(202);
    expect(theirs.body.jobId).not.toBe(first.body.jobId);

    const jobs = (await api.send('GET', '/api/jobs')).body.jobs;
    expect(jobs.map((j: { jobId: string }) => j.jobId)).toEqual([first.body.jobId]);
    expectError(await api.submit(spec, { 'idempotency-key': 'has space' }), 400, 'RELAY_ERR_VALIDATION');
  });

  it('creates exactly one job from 20 concurrent duplicates; the others answer 409 or the same job', async () => {
    const { api } = await createApplication('concurrent');
    const key = `burst-${randomBytes(6).toString('hex')}`;
    const spec = { targetUrl: target.url('/ok'), payload: { n: 1 } };
    const answers = await Promise.all(Array.from({ length: 20 }, () => api.submit(spec, { 'idempotency-key': key })));
    const accepted = answers.filter((r) => r.status === 202);
    const conflicts = answers.filter((r) => r.status === 409);
    expect(accepted.length + conflicts.length).toBe(20);
    expect(new Set(accepted.map((r) => r.body.jobId)).size).toBe(1);
    for (const res of conflicts) {
      expectError(res, 409, 'RELAY_ERR_IDEMPOTENCY_IN_PROGRESS');
      expect(res.headers['retry-after']).toBe('1');
    }
    const jobs = (await api.send('GET', '/api/jobs')).body.jobs;
    expect(jobs).toHaveLength(1);
    expect((await api.send('GET', '/api/metrics')).body.jobs_created).toBe(1);
    // After the first finished, a retry gets the stored answer.
    const later = await api.submit(spec, { 'idempotency-key': key });
    expect(later.status).toBe(202);
    expect(later.body.jobId).toBe(jobs[0].jobId);
  });
});

describe('secrets at rest and in logs', () => {
  it('never logs or stores the master key, an API key or a signing secret in clear', async () => {
    expect(issued.length).toBeGreaterThan(10);
    const logs = [...stack.backend.lines, ...stack.workers.flatMap((w) => w.lines)].join('\n');
    expect(logs.length).toBeGreaterThan(0);
    const redis = new Redis(REDIS_URL);
    try {
      const stored = JSON.stringify([...(await readEverything(redis, stack.prefix))]);
      expect(stored).toContain('app_'); // the search sees the application records
      for (const secret of [masterKey, ...issued]) {
        const value = secret.replace(/^whsec_/, '');
        expect(logs.includes(value), 'a secret in the logs').toBe(false);
        expect(stored.includes(value), 'a secret in Redis').toBe(false);
      }
    } finally {
      redis.disconnect();
    }
  });
});
