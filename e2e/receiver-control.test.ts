import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reply, TestServer } from './support/http-servers.js';
import { startStack, type Stack } from './support/stack.js';

/**
 * Receivers can stop relay's retries: a target or callback receiver that
 * answers non-2xx with `Relay-No-Retry: true` gets no further request, and a
 * callback receiver that answers 410 Gone neither.
 */
const CALLBACK_RETRY_DELAY_MS = 200;
let stack: Stack;
const target = new TestServer();
const callbacks = new TestServer();

beforeAll(async () => {
  await Promise.all([target.listen(), callbacks.listen()]);
  stack = await startStack('receiver', { env: { CALLBACK_RETRY_DELAY_MS: String(CALLBACK_RETRY_DELAY_MS) } });
});

afterAll(async () => {
  await stack?.stop();
  await Promise.all([target.close(), callbacks.close()]);
});

/** Long enough for a retry that should not happen to have happened. */
const settle = () => new Promise((r) => setTimeout(r, 4 * CALLBACK_RETRY_DELAY_MS + 600));

describe('Relay-No-Retry and 410', () => {
  it('a target answering 503 with Relay-No-Retry: true gets exactly one attempt; the job fails at once', async () => {
    target.on('/stop', (_req, res) => reply(res, 503, 'order cancelled', { 'Relay-No-Retry': 'true' }));
    const jobId = await stack.api.submitOk({ targetUrl: target.url('/stop'), maxRetries: 5, retryDelay: 100 });
    const job = await stack.api.waitFinal(jobId);

    expect(job.status).toBe('failed');
    expect(job.attempts).toBe(1);
    expect(job.attemptsLog[0]).toMatchObject({ statusCode: 503, success: false, retryable: false });
    expect(job.error).toEqual({
      code: 'RELAY_ERR_RECEIVER_STOPPED',
      message: 'target answered 503 with Relay-No-Retry; not retried',
    });
    expect(job.deadLetteredAt).not.toBeNull();
    await settle();
    expect(target.requests('/stop')).toHaveLength(1);
  });

  it('ignores the header on a 2xx, and any value but true or 1 on a non-2xx', async () => {
    target.on('/fine', (_req, res) => reply(res, 200, 'ok', { 'relay-no-retry': 'true' }));
    target.on('/maybe', (_req, res, n) => reply(res, n === 1 ? 503 : 200, '', { 'relay-no-retry': 'false' }));
    const [fine, maybe] = await Promise.all([
      stack.api.submitOk({ targetUrl: target.url('/fine') }),
      stack.api.submitOk({ targetUrl: target.url('/maybe'), retryDelay: 100 }),
    ]);
    expect(await stack.api.waitFinal(fine)).toMatchObject({ status: 'completed', attempts: 1 });
    expect(await stack.api.waitFinal(maybe)).toMatchObject({ status: 'completed', attempts: 2 });
  });

  it('a callback receiver answering 500 with Relay-No-Retry: 1 gets exactly one delivery', async () => {
    target.on('/done', (_req, res) => reply(res, 200, 'ok'));
    callbacks.on('/cb-stop', (_req, res) => reply(res, 500, 'unknown job', { 'Relay-No-Retry': '1' }));
    const jobId = await stack.api.submitOk({ targetUrl: target.url('/done'), callbackUrl: callbacks.url('/cb-stop') });
    const job = await stack.api.waitFinal(jobId, 15_000, { callback: true });

    expect(job.status).toBe('completed');
    expect(job.callback).toMatchObject({
      status: 'failed',
      statusCode: 500,
      attempts: 1,
      nextAttemptAt: null,
      error: { code: 'RELAY_ERR_RECEIVER_STOPPED', message: 'callback answered 500 with Relay-No-Retry; not retried' },
    });
    await settle();
    expect(callbacks.requests('/cb-stop')).toHaveLength(1);
  });

  it('a callback receiver answering 410 Gone gets exactly one delivery', async () => {
    callbacks.on('/cb-gone', (_req, res) => reply(res, 410, 'endpoint removed'));
    const jobId = await stack.api.submitOk({ targetUrl: target.url('/done'), callbackUrl: callbacks.url('/cb-gone') });
    const job = await stack.api.waitFinal(jobId, 15_000, { callback: true });

    expect(job.callback).toMatchObject({
      status: 'failed',
      statusCode: 410,
      attempts: 1,
      error: { code: 'RELAY_ERR_RECEIVER_STOPPED', message: 'callback answered 410 Gone; not retried' },
    });
    await settle();
    expect(callbacks.requests('/cb-gone')).toHaveLength(1);
    // Other refusals are retried: a receiver being deployed answers 404 for a while.
    callbacks.on('/cb-later', (_req, res, n) => reply(res, n === 1 ? 404 : 204));
    const later = await stack.api.submitOk({ targetUrl: target.url('/done'), callbackUrl: callbacks.url('/cb-later') });
    expect((await stack.api.waitFinal(later, 15_000, { callback: true })).callback).toMatchObject({
      status: 'delivered',
      attempts: 2,
    });
  });

  it('counts the callbacks given up on', async () => {
    const counters = (await stack.api.send('GET', '/api/metrics')).body;
    expect(counters).toMatchObject({ callbacks_failed: 2, jobs_failed: 1, jobs_dlq: 1 });
  });
});
