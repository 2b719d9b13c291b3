import { afterEach, expect, it } from 'vitest';
import { reply, TestServer } from './support/http-servers.js';
import { startStack, type Stack } from './support/stack.js';

let stack: Stack | null = null;
const target = new TestServer();

afterEach(async () => {
  await stack?.stop();
  stack = null;
  await target.close().catch(() => undefined);
});

it('a high-priority job overtakes a backlog of 1,000 low-priority ones', async () => {
  await target.listen();
  target.on('/work', (_req, res) => setTimeout(() => reply(res, 200), 5));
  stack = await startStack('priority', { env: { WORKER_CONCURRENCY: '4' } });
  const { api } = stack;

  const lowIds: string[] = [];
  const batch = 50;
  for (let i = 0; i < 1000; i += batch) {
    lowIds.push(
      ...(await Promise.all(
        Array.from({ length: batch }, () => api.submitOk({ targetUrl: target.url('/work'), priority: 'low' })),
      )),
    );
  }
  const highId = await api.submitOk({ targetUrl: target.url('/work'), priority: 'high' });
  const high = await api.waitFinal(highId, 30_000);
  const highDone = Date.parse(high.completedAt);

  const lows = await Promise.all(lowIds.map((id) => api.waitFinal(id, 120_000)));
  const lowAfterHigh = lows.filter((j) => Date.parse(j.completedAt) > highDone).length;
  console.log(`priority: ${lowAfterHigh} of 1000 low-priority jobs finished after the high-priority one`);
  // The backlog builds up while the 1,000 are submitted (4 slots × ~5 ms per
  // job); whatever was still queued then waited for the high-priority job.
  expect(lowAfterHigh).toBeGreaterThan(500);
}, 180_000);

it('two backends and two workers share the load; each job runs exactly once', async () => {
  await target.listen();
  target.on('/shared', (_req, res) => setTimeout(() => reply(res, 200), 10));
  stack = await startStack('scale', { workers: 2, env: { WORKER_CONCURRENCY: '8' } });
  const apis = [stack.api, await stack.addBackend()];

  const ids = await Promise.all(
    Array.from({ length: 300 }, (_, i) =>
      apis[i % 2]!.submitOk({ targetUrl: target.url('/shared'), method: 'POST', payload: { i } }),
    ),
  );
  const jobs = await Promise.all(ids.map((id) => stack!.api.waitFinal(id, 60_000)));
  expect(jobs.every((j) => j.status === 'completed' && j.attempts === 1)).toBe(true);

  // Exactly one target call per job: nothing was done twice.
  const calls = target.requests('/shared').map((r) => JSON.parse(r.body).i as number);
  expect(calls).toHaveLength(300);
  expect(new Set(calls).size).toBe(300);

  // Both workers took a share.
  const finishedBy = stack.workers.map((w) => w.lines.filter((l) => l.includes('"msg":"job finished"')).length);
  console.log(`scale-out: jobs finished per worker ${finishedBy.join(' / ')}`);
  expect(finishedBy.every((n) => n > 30)).toBe(true);
  expect(finishedBy.reduce((a, b) => a + b, 0)).toBe(300);
}, 120_000);
