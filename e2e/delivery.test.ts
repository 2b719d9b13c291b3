import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { reply, TestServer } from './support/http-servers.js';
import type { RelayClient } from './support/relay-client.js';
import { readEverything, REDIS_URL } from './support/services.js';
import { startStack, type Stack } from './support/stack.js';

/**
 * The whole job path with real processes: backend and worker spawned as they
 * run in production, real RabbitMQ and Redis, real target and callback
 * servers on 127.0.0.1.
 */
let stack: Stack;
let api: RelayClient;
const target = new TestServer();
const callbacks = new TestServer();

beforeAll(async () => {
  await Promise.all([target.listen(), callbacks.listen()]);
  stack = await startStack('delivery', {
    env: {
      CALLBACK_RETRY_DELAY_MS: '200',
      // Credentials kept sealed for replay, and two names added to the built-in list.
      RELAY_SECRET_KEY: randomBytes(32).toString('base64'),
      RELAY_REDACT_HEADERS: 'X-Tenant-Token, x-signature',
    },
  });
  api = stack.api;
});

afterAll(async () => {
  await stack?.stop();
  await Promise.all([target.close(), callbacks.close()]);
});

function gapsBetweenAttempts(job: any): number[] {
  const log = job.attemptsLog as any[];
  return log.slice(1).map((a, i) => {
    const prev = log[i]!;
    return Date.parse(a.startedAt) - (Date.parse(prev.startedAt) + prev.durationMs);
  });
}

describe('delivery', () => {
  it('succeeds on the first attempt, sends method, headers and JSON payload, and posts the callback', async () => {
    target.on('/ok', (_req, res) => reply(res, 200, '{"done":true}', { 'content-type': 'application/json' }));
    const jobId = await api.submitOk({
      targetUrl: target.url('/ok'),
      method: 'PUT',
      headers: { 'X-Custom': 'abc' },
      payload: { order: 42, items: ['a'] },
      callbackUrl: callbacks.url('/cb-ok'),
    });
    const job = await api.waitFinal(jobId, 15_000, { callback: true });

    expect(job.status).toBe('completed');
    expect(job.attempts).toBe(1);
    expect(job.attemptsLog).toHaveLength(1);
    expect(job.attemptsLog[0]).toMatchObject({ attempt: 1, statusCode: 200, success: true, error: null });
    expect(job.lastResponse.body).toEqual({ done: true });
    expect(job.callback).toMatchObject({ status: 'delivered', statusCode: 200, attempts: 1 });

    const [sent] = target.requests('/ok');
    expect(sent!.method).toBe('PUT');
    expect(sent!.headers['x-custom']).toBe('abc');
    expect(sent!.headers['content-type']).toBe('application/json');
    expect(JSON.parse(sent!.body)).toEqual({ order: 42, items: ['a'] });

    const cbs = callbacks.requests('/cb-ok');
    expect(cbs).toHaveLength(1);
    expect(JSON.parse(cbs[0]!.body)).toMatchObject({
      jobId,
      status: 'completed',
      success: true,
      attempts: 1,
      statusCode: 200,
      targetUrl: target.url('/ok'),
      method: 'PUT',
      response: { statusCode: 200, body: { done: true } },
    });
  });

  it('retries 503 twice then succeeds, with 3 log entries and exponential delays', async () => {
    target.on('/flaky', (_req, res, n) => (n <= 2 ? reply(res, 503, 'busy') : reply(res, 200, 'fine')));
    const jobId = await api.submitOk({ targetUrl: target.url('/flaky'), retryDelay: 500 });
    const job = await api.waitFinal(jobId, 15_000);

    expect(job.status).toBe('completed');
    expect(job.attempts).toBe(3);
    expect(job.attemptsLog.map((a: any) => [a.attempt, a.statusCode, a.success, a.retryable])).toEqual([
      [1, 503, false, true],
      [2, 503, false, true],
      [3, 200, true, false],
    ]);
    // delay_n = retryDelay·2^(n−1)·(1 ± 20%), landing within max(10%, 100 ms).
    const [g1, g2] = gapsBetweenAttempts(job);
    expect(g1).toBeGreaterThanOrEqual(400 - 100);
    expect(g1).toBeLessThanOrEqual(600 + 100);
    expect(g2).toBeGreaterThanOrEqual(800 - 100);
    expect(g2).toBeLessThanOrEqual(1200 + 120);
  });

  it('exhausts maxRetries + 1 attempts on a target that always answers 500, ends failed and sends the callback', async () => {
    target.on('/down', (_req, res) => reply(res, 500, 'boom'));
    const jobId = await api.submitOk({
      targetUrl: target.url('/down'),
      maxRetries: 2,
      retryDelay: 100,
      callbackUrl: callbacks.url('/cb-down'),
    });
    const job = await api.waitFinal(jobId, 15_000, { callback: true });

    expect(job.status).toBe('failed');
    expect(job.attempts).toBe(3);
    expect(target.requests('/down')).toHaveLength(3);
    expect(job.error).toEqual({ code: 'RELAY_ERR_HTTP_STATUS', message: 'target answered 500' });
    const cbs = callbacks.requests('/cb-down');
    expect(cbs).toHaveLength(1);
    expect(JSON.parse(cbs[0]!.body)).toMatchObject({
      jobId,
      status: 'failed',
      success: false,
      attempts: 3,
      statusCode: 500,
    });
  });

  it('does not retry a 404', async () => {
    target.on('/missing', (_req, res) => reply(res, 404, 'nope'));
    const jobId = await api.submitOk({ targetUrl: target.url('/missing'), retryDelay: 100 });
    const job = await api.waitFinal(jobId);
    expect(job.status).toBe('failed');
    expect(job.attempts).toBe(1);
    expect(job.attemptsLog[0]).toMatchObject({ statusCode: 404, retryable: false });
    // Nothing else arrives later either.
    await new Promise((r) => setTimeout(r, 400));
    expect(target.requests('/missing')).toHaveLength(1);
  });

  it('times out a hanging target and retries it', async () => {
    target.on('/hang', (_req, res, n) => {
      if (n === 1) return; // never answers
      reply(res, 200, 'late but fine');
    });
    const jobId = await api.submitOk({ targetUrl: target.url('/hang'), timeout: 300, retryDelay: 100 });
    const job = await api.waitFinal(jobId);
    expect(job.status).toBe('completed');
    expect(job.attempts).toBe(2);
    expect(job.attemptsLog[0]).toMatchObject({
      statusCode: null,
      retryable: true,
      error: { code: 'RELAY_ERR_TIMEOUT' },
    });
    expect(job.attemptsLog[0].durationMs).toBeGreaterThanOrEqual(290);
    expect(job.attemptsLog[0].durationMs).toBeLessThan(1500);
  });

  it('honours Retry-After on 429 over a shorter backoff, landing within 100 ms of it', async () => {
    target.on('/limited', (_req, res, n) =>
      n === 1 ? reply(res, 429, 'slow down', { 'retry-after': '2' }) : reply(res, 200),
    );
    const jobId = await api.submitOk({ targetUrl: target.url('/limited'), retryDelay: 100 });
    const job = await api.waitFinal(jobId);
    expect(job.attempts).toBe(2);
    const [gap] = gapsBetweenAttempts(job);
    expect(gap).toBeGreaterThanOrEqual(2000);
    expect(gap).toBeLessThanOrEqual(2200);
  });

  it('keeps retrying a failing callback without calling the target again', async () => {
    target.on('/once', (_req, res) => reply(res, 200, 'ok'));
    callbacks.on('/cb-flaky', (_req, res, n) => (n <= 2 ? reply(res, 500, 'cb down') : reply(res, 204)));
    const jobId = await api.submitOk({ targetUrl: target.url('/once'), callbackUrl: callbacks.url('/cb-flaky') });
    const job = await api.waitFinal(jobId, 15_000, { callback: true });

    expect(job.callback).toMatchObject({ status: 'delivered', statusCode: 204, attempts: 3 });
    expect(callbacks.requests('/cb-flaky')).toHaveLength(3);
    expect(target.requests('/once')).toHaveLength(1);
    // The same result each time.
    const bodies = callbacks.requests('/cb-flaky').map((r) => JSON.parse(r.body));
    expect(bodies[2]).toEqual(bodies[0]);
  });

  it('makes exactly one attempt when maxRetries is 0', async () => {
    target.on('/zero', (_req, res) => reply(res, 503, 'no'));
    const jobId = await api.submitOk({ targetUrl: target.url('/zero'), maxRetries: 0, retryDelay: 100 });
    const job = await api.waitFinal(jobId);
    expect(job.status).toBe('failed');
    expect(job.attempts).toBe(1);
    await new Promise((r) => setTimeout(r, 400));
    expect(target.requests('/zero')).toHaveLength(1);
  });

  it('does not follow redirects: the 302 is recorded and the job fails', async () => {
    target.on('/moved', (_req, res) => reply(res, 302, '', { location: target.url('/elsewhere') }));
    const jobId = await api.submitOk({ targetUrl: target.url('/moved') });
    const job = await api.waitFinal(jobId);
    expect(job.status).toBe('failed');
    expect(job.attemptsLog[0]).toMatchObject({ statusCode: 302, retryable: false });
    expect(target.requests('/elsewhere')).toHaveLength(0);
  });

  it('shows the job as retrying with nextAttemptAt while it waits', async () => {
    target.on('/later', (_req, res) => reply(res, 503, 'later'));
    const jobId = await api.submitOk({ targetUrl: target.url('/later'), retryDelay: 5000, maxRetries: 1 });
    let job: any;
    const deadline = Date.now() + 5000;
    do {
      job = (await api.job(jobId)).body;
      if (job.status === 'retrying') break;
      await new Promise((r) => setTimeout(r, 50));
    } while (Date.now() < deadline);
    expect(job.status).toBe('retrying');
    expect(job.attempts).toBe(1);
    const wait = Date.parse(job.nextAttemptAt) - Date.parse(job.attemptsLog[0].startedAt);
    expect(wait).toBeGreaterThanOrEqual(4000);
    expect(wait).toBeLessThanOrEqual(6100);
  });

  it('sends credential headers to the target but never logs them, stores them or returns them', async () => {
    const secret = () => `s3cret-${randomBytes(8).toString('hex')}`;
    const s = {
      authorization: secret(),
      apiKey: secret(),
      cookie: secret(),
      proxy: secret(),
      tenant: secret(),
      signature: secret(),
      setCookie: secret(),
      responseSignature: secret(),
    };
    // The target answers with credentials of its own: a session cookie and a configured header.
    target.on('/private', (_req, res) =>
      reply(res, 200, 'ok', { 'Set-Cookie': `sid=${s.setCookie}; HttpOnly`, 'X-Signature': s.responseSignature }),
    );
    const jobId = await api.submitOk({
      targetUrl: target.url('/private'),
      method: 'POST',
      headers: {
        Authorization: `Bearer ${s.authorization}`,
        'x-api-key': s.apiKey,
        Cookie: `session=${s.cookie}`,
        'Proxy-Authorization': `Basic ${s.proxy}`,
        'X-Tenant-Token': s.tenant, // configured, as written there
        'X-SIGNATURE': s.signature, // configured, in another case
        'X-Visible': 'not a secret',
      },
      payload: { order: 1 },
      callbackUrl: callbacks.url('/cb-private'),
    });
    const job = await api.waitFinal(jobId, 15_000, { callback: true });

    // The target got every credential in clear.
    const [sent] = target.requests('/private');
    expect(sent!.headers).toMatchObject({
      authorization: `Bearer ${s.authorization}`,
      'x-api-key': s.apiKey,
      cookie: `session=${s.cookie}`,
      'proxy-authorization': `Basic ${s.proxy}`,
      'x-tenant-token': s.tenant,
      'x-signature': s.signature,
      'x-visible': 'not a secret',
    });

    // The API shows them redacted: the job's headers and the target's answer.
    expect(job.headers).toEqual({
      Authorization: '[redacted]',
      'x-api-key': '[redacted]',
      Cookie: '[redacted]',
      'Proxy-Authorization': '[redacted]',
      'X-Tenant-Token': '[redacted]',
      'X-SIGNATURE': '[redacted]',
      'X-Visible': 'not a secret',
    });
    expect(job.lastResponse.headers).toMatchObject({ 'set-cookie': '[redacted]', 'x-signature': '[redacted]' });
    expect(job.attemptsLog[0].response.headers).toMatchObject({ 'set-cookie': '[redacted]' });

    // Nowhere else either: every API view of the job, the callback, every
    // log line of both processes, every key and value under the prefix.
    const views = await Promise.all([
      api.job(jobId),
      api.send('GET', `/api/jobs/${jobId}`),
      api.send('GET', '/api/jobs?limit=500'),
      api.send('GET', `/api/job/${jobId}/attempts`),
    ]);
    for (const view of views) expect(view.status).toBe(200);
    const redis = new Redis(REDIS_URL);
    let stored: Map<string, unknown>;
    try {
      stored = await readEverything(redis, stack.prefix);
    } finally {
      redis.disconnect();
    }
    expect([...stored.keys()].some((k) => k.includes(jobId))).toBe(true);
    const places: [string, string][] = [
      ['API', views.map((v) => JSON.stringify(v.body)).join('\n')],
      [
        'callback',
        callbacks
          .requests('/cb-private')
          .map((r) => r.body)
          .join('\n'),
      ],
      ['backend log', stack.backend.lines.join('\n')],
      ['worker log', stack.workers[0]!.lines.join('\n')],
      ['Redis', JSON.stringify([...stored])],
    ];
    expect(callbacks.requests('/cb-private')).toHaveLength(1);
    // Control: a value that is not a credential is found where the job is kept, so a leak would be too.
    for (const [place, text] of places.filter(([p]) => p === 'API' || p === 'Redis')) {
      expect(text.includes('not a secret'), `control value in ${place}`).toBe(true);
    }
    for (const [place, text] of places) {
      for (const [name, secret] of Object.entries(s)) {
        expect(text.includes(secret), `${name} found in ${place}`).toBe(false);
      }
    }
  });
});
