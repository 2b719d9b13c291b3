import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reply, TestServer } from './support/http-servers.js';
import { startStack, type Stack } from './support/stack.js';

/**
 * The SSRF guard with real processes. NETWORK RULE: every URL here is on
 * 127.0.0.0/8 or ::1, including those relay is expected to refuse, and
 * `localhost` resolves through /etc/hosts, never DNS.
 */
let guarded: Stack; // RELAY_ALLOW_PRIVATE_NETWORKS unset: everything private refused
let allowing: Stack; // the e2e default, 127.0.0.0/8 and ::1/128 allowed
const target = new TestServer();
const callbacks = new TestServer();
const elsewhere = new TestServer();

beforeAll(async () => {
  await Promise.all([target.listen(), callbacks.listen(), elsewhere.listen()]);
  [guarded, allowing] = await Promise.all([
    startStack('ssrf-off', { env: { RELAY_ALLOW_PRIVATE_NETWORKS: '', CALLBACK_RETRY_DELAY_MS: '100' } }),
    startStack('ssrf-on', { env: { CALLBACK_RETRY_DELAY_MS: '100' } }),
  ]);
});

afterAll(async () => {
  await Promise.all([guarded?.stop(), allowing?.stop()]);
  await Promise.all([target.close(), callbacks.close(), elsewhere.close()]);
});

describe('with no allowlist', () => {
  it('answers 400 to literal loopback URLs in any form, naming the field', async () => {
    const port = target.port;
    const forms = [
      `http://127.0.0.1:${port}/literal`,
      `http://2130706433:${port}/literal`,
      `http://0x7f.0.0.1:${port}/literal`,
      `http://0177.0.0.1:${port}/literal`,
      `http://127.1:${port}/literal`,
      `http://127.0.0.1.:${port}/literal`,
      `http://[::ffff:127.0.0.1]:${port}/literal`,
      `http://[::ffff:7f00:1]:${port}/literal`,
      `http://[::1]:${port}/literal`,
    ];
    for (const targetUrl of forms) {
      const res = await guarded.api.submit({ targetUrl });
      expect(res.status, targetUrl).toBe(400);
      expect(res.body).toMatchObject({ statusCode: 400, code: 'RELAY_ERR_VALIDATION' });
      expect(res.body.details).toHaveLength(1);
      expect(res.body.details[0].path).toBe('/body/targetUrl');
      expect(res.body.details[0].message).toMatch(/loopback address \(see RELAY_ALLOW_PRIVATE_NETWORKS\)$/);
    }
    expect(target.requests('/literal')).toHaveLength(0);
  });

  it('lists a forbidden callbackUrl and the schema problems together', async () => {
    const res = await guarded.api.submit({
      targetUrl: `http://127.1:${target.port}/literal`,
      callbackUrl: `http://[::1]:${callbacks.port}/cb`,
      retries: 3,
    });
    expect(res.status).toBe(400);
    expect(res.body.message).toBe('The request is invalid: 3 problems');
    expect(res.body.details).toEqual([
      { path: '/body/retries', message: 'is not a known field' },
      {
        path: '/body/targetUrl',
        message:
          'must not point at a loopback, private, link-local or reserved address: 127.0.0.1 is a loopback address (see RELAY_ALLOW_PRIVATE_NETWORKS)',
      },
      {
        path: '/body/callbackUrl',
        message:
          'must not point at a loopback, private, link-local or reserved address: ::1 is a loopback address (see RELAY_ALLOW_PRIVATE_NETWORKS)',
      },
    ]);
  });

  it('accepts a host name resolving to 127.0.0.1, then refuses it at connect: failed, not retried, nothing sent', async () => {
    const jobId = await guarded.api.submitOk({
      targetUrl: `http://localhost:${target.port}/by-name`,
      callbackUrl: `http://localhost:${callbacks.port}/by-name-cb`,
      maxRetries: 3,
      retryDelay: 100,
    });
    const job = await guarded.api.waitFinal(jobId, 30_000, { callback: true });
    expect(job).toMatchObject({ status: 'failed', attempts: 1, lastResponse: null });
    expect(job.error.code).toBe('RELAY_ERR_FORBIDDEN_ADDRESS');
    expect(job.attemptsLog).toHaveLength(1);
    expect(job.attemptsLog[0]).toMatchObject({
      statusCode: null,
      success: false,
      retryable: false,
      error: { code: 'RELAY_ERR_FORBIDDEN_ADDRESS' },
    });
    expect(job.attemptsLog[0].error.message).toContain(
      'refused to connect to localhost: 127.0.0.1 is a loopback address',
    );
    // The callback is refused too, once: retrying cannot change the answer.
    expect(job.callback).toMatchObject({
      status: 'failed',
      attempts: 1,
      error: { code: 'RELAY_ERR_FORBIDDEN_ADDRESS' },
    });
    expect(target.requests('/by-name')).toHaveLength(0);
    expect(callbacks.requests('/by-name-cb')).toHaveLength(0);
  });
});

describe('with 127.0.0.0/8 and ::1/128 allowed', () => {
  it('runs the same localhost job and delivers its callback', async () => {
    target.on('/by-name-ok', (_req, res) => reply(res, 200, '{"ok":true}', { 'content-type': 'application/json' }));
    const jobId = await allowing.api.submitOk({
      targetUrl: `http://localhost:${target.port}/by-name-ok`,
      callbackUrl: `http://localhost:${callbacks.port}/by-name-ok-cb`,
    });
    const job = await allowing.api.waitFinal(jobId, 30_000, { callback: true });
    expect(job).toMatchObject({ status: 'completed', attempts: 1, error: null });
    expect(job.callback).toMatchObject({ status: 'delivered', attempts: 1 });
    expect(target.requests('/by-name-ok')).toHaveLength(1);
    expect(callbacks.requests('/by-name-ok-cb')).toHaveLength(1);
  });

  it('does not follow a redirect: the 302 is the recorded result and its Location is never called', async () => {
    const location = elsewhere.url('/internal');
    target.on('/redirect', (_req, res) => reply(res, 302, '', { location }));
    const jobId = await allowing.api.submitOk({ targetUrl: target.url('/redirect'), maxRetries: 2, retryDelay: 100 });
    const job = await allowing.api.waitFinal(jobId);
    expect(job).toMatchObject({ status: 'failed', attempts: 1 });
    expect(job.lastResponse).toMatchObject({ statusCode: 302, headers: { location } });
    expect(job.attemptsLog[0]).toMatchObject({
      statusCode: 302,
      retryable: false,
      error: { code: 'RELAY_ERR_HTTP_STATUS' },
    });
    expect(target.requests('/redirect')).toHaveLength(1);
    expect(elsewhere.received).toHaveLength(0);
  });
});
