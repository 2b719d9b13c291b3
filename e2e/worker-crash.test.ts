import { afterAll, beforeAll, expect, it } from 'vitest';
import { reply, TestServer } from './support/http-servers.js';
import type { RelayClient } from './support/relay-client.js';
import { startStack, type Stack } from './support/stack.js';

/**
 * SIGKILL the worker twice while jobs are in flight and in backoff; a fresh
 * worker must bring every accepted job to a final state with a consistent
 * attempt log. Duplicated target calls are allowed (at-least-once) and counted.
 */
let stack: Stack;
let api: RelayClient;
const target = new TestServer();
const callbacks = new TestServer();

beforeAll(async () => {
  await Promise.all([target.listen(), callbacks.listen()]);
  // The worker starts once the target's routes are set, in the test.
  stack = await startStack('crash', { workers: 0, env: { WORKER_CONCURRENCY: '8', CALLBACK_RETRY_DELAY_MS: '200' } });
  api = stack.api;
});

afterAll(async () => {
  await stack?.stop();
  await Promise.all([target.close(), callbacks.close()]);
});

it('loses no accepted job when the worker is SIGKILLed mid-flight and mid-backoff', async () => {
  // Slow targets keep attempts in flight; flaky ones put jobs into backoff.
  target.on('/slow', (_req, res) => setTimeout(() => reply(res, 200, 'slow ok'), 400));
  const flakyCalls = new Map<string, number>();
  target.on('/flaky', (req, res) => {
    const n = (flakyCalls.get(req.headers['x-job'] as string) ?? 0) + 1;
    flakyCalls.set(req.headers['x-job'] as string, n);
    if (n <= 2) reply(res, 503, 'not yet');
    else reply(res, 200, 'ok');
  });

  await stack.addWorker();
  const ids: string[] = [];
  for (let i = 0; i < 40; i++) {
    const flaky = i % 2 === 0;
    ids.push(
      await api.submitOk({
        targetUrl: target.url(flaky ? '/flaky' : '/slow'),
        headers: { 'x-job': String(i) },
        retryDelay: flaky ? 800 : 100,
        maxRetries: 5,
        timeout: 2000,
        callbackUrl: callbacks.url('/cb'),
      }),
    );
  }

  for (let round = 0; round < 2; round++) {
    await new Promise((r) => setTimeout(r, 700));
    const victim = stack.workers.at(-1)!;
    victim.kill('SIGKILL');
    await victim.exited();
    await stack.addWorker();
  }

  const jobs = await Promise.all(ids.map((id) => api.waitFinal(id, 60_000, { callback: true })));
  for (const job of jobs) {
    expect(job.status).toBe('completed');
    expect(job.attemptsLog).toHaveLength(job.attempts);
    expect(job.attemptsLog.map((a: any) => a.attempt)).toEqual(Array.from({ length: job.attempts }, (_, i) => i + 1));
    expect(job.attemptsLog.at(-1).success).toBe(true);
    expect(job.callback.status).toBe('delivered');
  }
  const cbJobs = new Set(callbacks.requests('/cb').map((r) => JSON.parse(r.body).jobId));
  expect(cbJobs.size).toBe(ids.length);
  const duplicateCallbacks = callbacks.requests('/cb').length - ids.length;
  const targetCalls = target.received.length;
  const recordedAttempts = jobs.reduce((n, j) => n + j.attempts, 0);
  // Every recorded attempt reached the target; extra calls are attempts cut
  // off by a kill before they were recorded.
  expect(targetCalls).toBeGreaterThanOrEqual(recordedAttempts);
  console.log(
    `worker-crash: ${ids.length} jobs, ${recordedAttempts} recorded attempts, ${targetCalls} target calls, ` +
      `${duplicateCallbacks} duplicate callbacks`,
  );
});
