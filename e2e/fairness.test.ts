import { afterAll, beforeAll, expect, it } from 'vitest';
import { reply, TestServer } from './support/http-servers.js';
import { startStack, type Stack } from './support/stack.js';

/**
 * Fairness caps (HOST_CONCURRENCY, APPLICATION_CONCURRENCY): a job whose
 * destination is at its cap waits on the delay queues and runs later, with
 * no attempt spent and no extra call; a job to another destination runs
 * meanwhile.
 */
let stack: Stack;
const slow = new TestServer();
const fast = new TestServer();
let holding = 0;
let maxHolding = 0;

beforeAll(async () => {
  slow.on('/slow', (_req, res) => {
    holding++;
    maxHolding = Math.max(maxHolding, holding);
    setTimeout(() => {
      holding--;
      reply(res, 200, '{"slow":true}', { 'content-type': 'application/json' });
    }, 400);
  });
  fast.on('/fast', (_req, res) => reply(res, 200, '{"fast":true}', { 'content-type': 'application/json' }));
  await Promise.all([slow.listen(), fast.listen()]);
  stack = await startStack('fairness', { env: { WORKER_CONCURRENCY: '8', HOST_CONCURRENCY: '1' } });
});

afterAll(async () => {
  await stack?.stop();
  await Promise.all([slow.close(), fast.close()]);
});

async function deferrals(): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${stack.workers[0]!.metricsPort}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('relay_fairness_deferrals_total{reason="host"}'));
  return Number(line?.split(' ')[1]);
}

it('runs one job at a time for a host at its cap; the held-back jobs spend no retry and the target sees each once', async () => {
  const slowJobs = await Promise.all(
    Array.from({ length: 4 }, () => stack.api.submitOk({ targetUrl: slow.url('/slow'), maxRetries: 0, timeout: 5000 })),
  );
  const fastJob = await stack.api.submitOk({ targetUrl: fast.url('/fast'), maxRetries: 0 });
  // The other host is not held up behind the slow one's queue of jobs.
  const fastDone = await stack.api.waitFinal(fastJob, 10_000);
  expect(fastDone.status).toBe('completed');

  const done = await Promise.all(slowJobs.map((id) => stack.api.waitFinal(id, 30_000)));
  for (const job of done) {
    expect(job.status).toBe('completed');
    // maxRetries 0 and still completed: being held back was not an attempt.
    expect(job.attempts).toBe(1);
  }
  expect(slow.requests('/slow')).toHaveLength(4);
  expect(maxHolding).toBe(1);
  expect(await deferrals()).toBeGreaterThan(0);
});

/** A worker metric's value, by its full series name (name and labels). */
async function metric(s: Stack, series: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${s.workers[0]!.metricsPort}/metrics`)).text();
  return Number(
    text
      .split('\n')
      .find((l) => l.startsWith(`${series} `))
      ?.split(' ')[1],
  );
}

it('messages over the cap of a fast host wait in the worker for its next slot: far fewer put-backs than with HOST_LOCAL_WAIT_MS=0', async () => {
  const JOBS = 100;
  const figures: Record<string, { putBacks: number; waited: number; timedOut: number }> = {};
  // 1 s rather than the default 100 ms: on this shared machine a run's slot
  // time swings with the load, and the test is about the mechanism.
  for (const localWaitMs of ['1000', '0']) {
    const s = await startStack('fairness-local', {
      env: { WORKER_CONCURRENCY: '8', HOST_CONCURRENCY: '2', HOST_LOCAL_WAIT_MS: localWaitMs, LOG_LEVEL: 'warn' },
    });
    try {
      const ids = await Promise.all(
        Array.from({ length: JOBS }, () => s.api.submitOk({ targetUrl: fast.url('/fast'), maxRetries: 0 })),
      );
      const done = await Promise.all(ids.map((id) => s.api.waitFinal(id, 60_000)));
      expect(done.filter((j) => j.status === 'completed' && j.attempts === 1)).toHaveLength(JOBS);
      figures[localWaitMs] = {
        putBacks: await metric(s, 'relay_fairness_deferrals_total{reason="host"}'),
        waited: await metric(s, 'relay_fairness_local_waits_total{outcome="started"}'),
        timedOut: await metric(s, 'relay_fairness_local_waits_total{outcome="timed_out"}'),
      };
    } finally {
      await s.stop();
    }
  }
  console.log(`fast host, ${JOBS} jobs, cap 2 of 8 slots: ${JSON.stringify(figures)}`);
  const on = figures['1000']!;
  const off = figures['0']!;
  // Off: every message over the cap goes through the delay queues, some more than once.
  expect(off.putBacks).toBeGreaterThan(JOBS / 4);
  expect(off.waited).toBe(0);
  // On: the host is measured after its first runs; from then on its messages wait here.
  expect(on.waited).toBeGreaterThan(JOBS / 4);
  expect(on.putBacks).toBeLessThan(off.putBacks / 4);
});
