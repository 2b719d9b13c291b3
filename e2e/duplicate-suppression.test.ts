import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attemptMessage, encodeMessage, messageProperties, queueNames } from '@relay/common';
import { reply, TestServer } from './support/http-servers.js';
import { RABBITMQ_URL, waitFor } from './support/services.js';
import { startStack, type Stack } from './support/stack.js';
import { TcpProxy } from './support/tcp-proxy.js';

/**
 * Duplicates beyond what at-least-once needs are suppressed: a stale copy of
 * an attempt does not fork the chain of retries, a cancel requested during an
 * unfinished attempt ends the job at the next start without calling the
 * target, an unconfirmed publish keeps its Idempotency-Key bound to its job,
 * and every target request names its job and attempt.
 */
const target = new TestServer();
const callbacks = new TestServer().on('/cb', (_req, res) => reply(res, 204));
const rabbitProxy = new TcpProxy('127.0.0.1', Number(new URL(RABBITMQ_URL).port || 5672));
let stack: Stack;

beforeAll(async () => {
  await Promise.all([target.listen(), callbacks.listen(), rabbitProxy.start()]);
  const rabbitUrl = new URL(RABBITMQ_URL);
  rabbitUrl.port = String(rabbitProxy.port);
  // The backend publishes through the proxy (its confirms can be held); the worker does not.
  stack = await startStack('dedup', {
    env: { RABBITMQ_URL: rabbitUrl.toString(), PUBLISH_TIMEOUT_MS: '1000', LOG_LEVEL: 'debug' },
    workers: 0,
  });
  await stack.addWorker({ RABBITMQ_URL, RECONCILE_GRACE_MS: '60000' });
});

afterAll(async () => {
  await stack?.stop();
  await Promise.all([target.close(), callbacks.close(), rabbitProxy.stop()]);
});

function workerLines(jobId: string, msg: string): number {
  return stack.workers.flatMap((w) => w.lines).filter((l) => l.includes(jobId) && l.includes(`"msg":"${msg}"`)).length;
}

describe('duplicate suppression', () => {
  it('a stale copy of attempt 1 during the backoff publishes no second attempt 2', async () => {
    target.on('/fail-once', (_req, res, n) => reply(res, n === 1 ? 503 : 200));
    const spec = { targetUrl: target.url('/fail-once'), retryDelay: 3000, maxRetries: 3 };
    const jobId = await stack.api.submitOk(spec);
    await waitFor(async () => (await stack.api.job(jobId)).body.status === 'retrying', 10_000, 'retrying');
    // Attempt 2 is scheduled and marked: inject a copy of attempt 1, as a redelivery would.
    const conn = await amqp.connect(RABBITMQ_URL);
    try {
      const channel = await conn.createConfirmChannel();
      const job = (await stack.api.job(jobId)).body;
      const copy = attemptMessage({
        jobId,
        spec: { ...spec, method: 'POST', headers: {}, timeout: 10_000, payload: null, priority: 'normal' } as never,
        createdAt: job.createdAt,
        requestId: null,
        traceId: '0'.repeat(32),
        application: 'default',
      });
      channel.sendToQueue(queueNames(stack.prefix).work, encodeMessage(copy), messageProperties(copy));
      await channel.waitForConfirms();
    } finally {
      await conn.close();
    }
    await waitFor(() => workerLines(jobId, 'duplicate attempt message dropped') >= 1, 10_000, 'the copy dropped');
    const final = await stack.api.waitFinal(jobId, 20_000);
    expect(final.status).toBe('completed');
    expect(final.attempts).toBe(2);
    // Let a forked attempt 2 (had one been published) come through.
    await new Promise((r) => setTimeout(r, 1500));
    expect(workerLines(jobId, 'duplicate attempt message dropped')).toBe(1);
    expect(workerLines(jobId, 'attempt already running elsewhere; deferring')).toBe(0);
    expect(target.received.filter((r) => r.path === '/fail-once')).toHaveLength(2);
  });

  it('every target request carries Relay-Job-Id and Relay-Attempt', async () => {
    target.on('/headers', (_req, res, n) => reply(res, n === 1 ? 500 : 200));
    const jobId = await stack.api.submitOk({ targetUrl: target.url('/headers'), retryDelay: 100, maxRetries: 2 });
    await stack.api.waitFinal(jobId, 20_000);
    const seen = target.received.filter((r) => r.path === '/headers');
    expect(seen.map((r) => [r.headers['relay-job-id'], r.headers['relay-attempt']])).toEqual([
      [jobId, '1'],
      [jobId, '2'],
    ]);
  });

  it('a cancel requested during an attempt whose worker died ends the job at the next start, without a call', async () => {
    target.on('/slow', (_req, res) => setTimeout(() => reply(res, 200), 1500));
    const jobId = await stack.api.submitOk({
      targetUrl: target.url('/slow'),
      callbackUrl: callbacks.url('/cb'),
      timeout: 2000,
    });
    await waitFor(
      () => target.received.some((r) => r.path === '/slow' && r.headers['relay-job-id'] === jobId),
      10_000,
      'the call',
    );
    const cancel = await stack.api.send('DELETE', `/api/job/${jobId}`);
    expect(cancel.body).toMatchObject({ status: 'in_progress', cancelRequested: true });
    const victim = stack.workers.at(-1)!;
    victim.kill('SIGKILL');
    await victim.exited();
    await stack.addWorker({ RABBITMQ_URL, RECONCILE_GRACE_MS: '60000' });
    // The redelivered message waits out the dead worker's lease, then finds the cancel.
    await waitFor(async () => (await stack.api.job(jobId)).body.status === 'cancelled', 30_000, 'cancelled');
    await waitFor(async () => (await stack.api.job(jobId)).body.callback?.status === 'delivered', 10_000, 'callback');
    expect(target.received.filter((r) => r.headers['relay-job-id'] === jobId)).toHaveLength(1);
    const cb = callbacks.received.filter((r) => JSON.parse(r.body).jobId === jobId);
    expect(cb.map((r) => JSON.parse(r.body).status)).toEqual(['cancelled']);
  });

  it('an unconfirmed publish answers 503 with the job id and keeps the Idempotency-Key bound to that job', async () => {
    target.on('/once', (_req, res) => reply(res, 200));
    const spec = { targetUrl: target.url('/once') };
    const key = { 'idempotency-key': `dedup-${Date.now()}` };
    rabbitProxy.holdDownstream();
    let first;
    try {
      first = await stack.api.submit(spec, key);
    } finally {
      rabbitProxy.releaseDownstream();
    }
    expect(first.status).toBe(503);
    expect(first.body).toMatchObject({ code: 'RELAY_ERR_ACCEPT_UNCERTAIN' });
    const jobId = first.body.jobId as string;
    expect(jobId).toMatch(/^[0-9a-f-]{36}$/);

    const retry = await stack.api.submit(spec, key);
    expect(retry.status).toBe(202);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.body.jobId).toBe(jobId);
    expect((await stack.api.waitFinal(jobId, 20_000)).status).toBe('completed');
    await new Promise((r) => setTimeout(r, 500));
    expect(target.received.filter((r) => r.path === '/once')).toHaveLength(1);
  });
});
