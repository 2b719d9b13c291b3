import { afterAll, beforeAll, expect, it } from 'vitest';
import { startBackend, startWorker, type RelayProcess } from './support/processes.js';
import { reply, TestServer } from './support/http-servers.js';
import { RelayClient } from './support/relay-client.js';
import { cleanup, randomPrefix, RABBITMQ_URL, REDIS_URL, waitFor } from './support/services.js';

/** SIGTERM lets in-flight attempts finish, within the grace period, then exits cleanly. */
const prefix = randomPrefix('shutdown');
const env = { RELAY_PREFIX: prefix, RABBITMQ_URL, REDIS_URL, LOG_LEVEL: 'info', WORKER_SHUTDOWN_GRACE_MS: '5000' };
let backend: RelayProcess;
const workers: RelayProcess[] = [];
let api: RelayClient;
const target = new TestServer();

beforeAll(async () => {
  await target.listen();
  const started = await startBackend(env);
  backend = started.proc;
  api = new RelayClient(started.baseUrl);
});

afterAll(async () => {
  await Promise.all([backend?.stop(), ...workers.map((w) => w.stop())]);
  await target.close();
  await cleanup(prefix);
});

it('finishes in-flight attempts on SIGTERM and exits 0; queued jobs wait for the next worker', async () => {
  target.on('/slow', (_req, res) => setTimeout(() => reply(res, 200, 'done'), 1000));
  const worker = await startWorker({ ...env, WORKER_CONCURRENCY: '2' });
  workers.push(worker);
  const ids = await Promise.all(Array.from({ length: 6 }, () => api.submitOk({ targetUrl: target.url('/slow') })));
  await waitFor(() => target.requests('/slow').length >= 2, 5000, 'two attempts in flight');

  worker.kill('SIGTERM');
  expect(await worker.exited()).toBe(0);
  const afterStop = await Promise.all(ids.map(async (id) => (await api.job(id)).body));
  // The two in flight were finished and recorded before the process exited.
  expect(afterStop.filter((j) => j.status === 'completed')).toHaveLength(2);
  expect(afterStop.filter((j) => j.status === 'queued')).toHaveLength(4);

  workers.push(await startWorker(env));
  const done = await Promise.all(ids.map((id) => api.waitFinal(id, 20_000)));
  expect(done.every((j) => j.status === 'completed' && j.attempts === 1)).toBe(true);
  expect(target.requests('/slow')).toHaveLength(6);
});
