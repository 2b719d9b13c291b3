import { afterAll, beforeAll, expect, it } from 'vitest';
import { reply, TestServer } from './support/http-servers.js';
import type { RelayClient } from './support/relay-client.js';
import { waitFor } from './support/services.js';
import { startStack, type Stack } from './support/stack.js';

/**
 * A job waiting out a long backoff must not hold a worker slot: with only 4
 * slots, 100 jobs submitted after it all finish long before its retry is due,
 * and the retry still lands on time.
 */
let stack: Stack;
let api: RelayClient;
const target = new TestServer();

beforeAll(async () => {
  await target.listen();
  stack = await startStack('isolation', { env: { WORKER_CONCURRENCY: '4' } });
  api = stack.api;
});

afterAll(async () => {
  await stack?.stop();
  await target.close();
});

it('a job in a 20 s backoff does not delay 100 healthy jobs submitted after it', async () => {
  target.on('/slow-to-recover', (_req, res, n) => (n === 1 ? reply(res, 503, 'later') : reply(res, 200, 'now ok')));
  target.on('/healthy', (_req, res) => setTimeout(() => reply(res, 200, 'ok'), 20));

  // retryDelay 20 s with ±20% jitter: the retry is due 16-24 s after attempt 1.
  const slowId = await api.submitOk({ targetUrl: target.url('/slow-to-recover'), retryDelay: 20_000, maxRetries: 1 });
  const waiting = await waitFor(
    async () => {
      const job = (await api.job(slowId)).body;
      return job.status === 'retrying' ? job : undefined;
    },
    10_000,
    'the slow job to enter its backoff',
  );
  const dueAt = Date.parse(waiting.nextAttemptAt);

  const submittedAt = Date.now();
  const ids = await Promise.all(Array.from({ length: 100 }, () => api.submitOk({ targetUrl: target.url('/healthy') })));
  const done = await Promise.all(ids.map((id) => api.waitFinal(id, 30_000)));
  const lastCompletion = Math.max(...done.map((j) => Date.parse(j.completedAt)));

  expect(done.every((j) => j.status === 'completed')).toBe(true);
  // 100 jobs × 20 ms on 4 slots is ~0.5 s of work: all finished well before
  // the slow job's retry, which was still waiting.
  expect(lastCompletion).toBeLessThan(dueAt);
  expect(lastCompletion - submittedAt).toBeLessThan(10_000);
  expect((await api.job(slowId)).body.status).toBe('retrying');

  const slow = await api.waitFinal(slowId, 40_000);
  expect(slow.status).toBe('completed');
  expect(slow.attempts).toBe(2);
  // The retry landed within 10% of its planned time (and never early).
  const startedSecond = Date.parse(slow.attemptsLog[1].startedAt);
  expect(startedSecond).toBeGreaterThanOrEqual(dueAt);
  expect(startedSecond - dueAt).toBeLessThanOrEqual(0.1 * (dueAt - Date.parse(slow.attemptsLog[0].startedAt)));
});
