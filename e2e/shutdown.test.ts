import { afterAll, beforeAll, expect, it } from 'vitest';
import { reply, TestServer } from './support/http-servers.js';
import type { RelayClient } from './support/relay-client.js';
import { waitFor } from './support/services.js';
import { startStack, type Stack } from './support/stack.js';

/** SIGTERM lets in-flight attempts finish, within the grace period, then exits cleanly. */
let stack: Stack;
let api: RelayClient;
const target = new TestServer();

beforeAll(async () => {
  await target.listen();
  // No worker yet: the test starts one with its own concurrency.
  stack = await startStack('shutdown', { workers: 0, env: { WORKER_SHUTDOWN_GRACE_MS: '5000' } });
  api = stack.api;
});

afterAll(async () => {
  await stack?.stop();
  await target.close();
});

it('finishes in-flight attempts on SIGTERM and exits 0; queued jobs wait for the next worker', async () => {
  target.on('/slow', (_req, res) => setTimeout(() => reply(res, 200, 'done'), 1000));
  const worker = await stack.addWorker({ WORKER_CONCURRENCY: '2' });
  const ids = await Promise.all(Array.from({ length: 6 }, () => api.submitOk({ targetUrl: target.url('/slow') })));
  await waitFor(() => target.requests('/slow').length >= 2, 5000, 'two attempts in flight');

  worker.kill('SIGTERM');
  expect(await worker.exited()).toBe(0);
  const afterStop = await Promise.all(ids.map(async (id) => (await api.job(id)).body));
  // The two in flight were finished and recorded before the process exited.
  expect(afterStop.filter((j) => j.status === 'completed')).toHaveLength(2);
  expect(afterStop.filter((j) => j.status === 'queued')).toHaveLength(4);

  await stack.addWorker();
  const done = await Promise.all(ids.map((id) => api.waitFinal(id, 20_000)));
  expect(done.every((j) => j.status === 'completed' && j.attempts === 1)).toBe(true);
  expect(target.requests('/slow')).toHaveLength(6);
});
