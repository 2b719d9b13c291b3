import type { ServerResponse } from 'node:http';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { reply, TestServer } from './support/http-servers.js';
import { startStack, type Stack } from './support/stack.js';

/**
 * Event deliveries never take a slot from target attempts (issue 14, "Cost"):
 * with two attempt slots and two event slots, a receiver that holds every
 * delivery open does not hold up the jobs. Were deliveries run in the
 * attempt slots, two held deliveries would stall every job for
 * CALLBACK_TIMEOUT_MS (60 s), past the test's wait.
 */
let stack: Stack;
const target = new TestServer();
const receiver = new TestServer();
const held: ServerResponse[] = [];

beforeAll(async () => {
  await Promise.all([target.listen(), receiver.listen()]);
  target.on('/ok', (_req, res) => reply(res, 200));
  receiver.on('/held', (_req, res) => void held.push(res));
  stack = await startStack('event-isolation', {
    env: { WORKER_CONCURRENCY: '2', EVENT_CONCURRENCY: '2', CALLBACK_TIMEOUT_MS: '60000' },
  });
});

afterAll(async () => {
  for (const res of held.splice(0)) res.destroy();
  await stack?.stop();
  await Promise.all([target.close(), receiver.close()]);
});

it('a receiver that holds every delivery open does not hold up the jobs', async () => {
  const webhooks = { '*': receiver.url('/held') };
  const jobIds: string[] = [];
  for (let i = 0; i < 10; i++) jobIds.push(await stack.api.submitOk({ targetUrl: target.url('/ok'), webhooks }));
  for (const jobId of jobIds) expect((await stack.api.waitFinal(jobId, 30_000)).status).toBe('completed');
  // Every job ran while the event slots stayed taken: the receiver answered nothing.
  expect(target.requests('/ok')).toHaveLength(10);
  expect(held.length).toBeGreaterThanOrEqual(1);
  expect(held.length).toBeLessThanOrEqual(2);
  expect(held.every((res) => !res.writableEnded)).toBe(true);
});
