import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, expect, it } from 'vitest';
import { REPO_ROOT, type RelayProcess } from '../support/processes.js';
import { RelayClient } from '../support/relay-client.js';
import { metricSum } from '../support/metrics.js';
import { startStack, type Stack } from '../support/stack.js';
import { CallbackReceiver, FaultTarget } from './support/fault-servers.js';
import { formatTable, judge, type FaultRow, waitUntilFinal } from './support/ledger.js';
import { submitJobs, type Submission } from './support/load.js';
import { startRabbitmq, startRedis, stopRabbitmq, stopRedis } from './support/service-control.js';

/**
 * The fault-injection suite (`pnpm test:faults`): each scenario submits a
 * known set of jobs under load, breaks something, and judges the run from
 * what the target and the callback receiver saw. Any lost job (accepted, never
 * final) fails the scenario; duplicates are counted and reported, since
 * at-least-once delivery allows them. The table of all scenarios is printed
 * at the end and written to bench-results/faults.{json,md}.
 *
 * It stops and restarts the machine's RabbitMQ and Redis: run it alone.
 * FAULT_JOBS sets the size of the SIGKILL run (default 5000);
 * FAULT_CALLBACK_DOWN_MS how long the callback receiver is down (default 30 s).
 */

const JOBS = Number(process.env.FAULT_JOBS ?? 5000);
const CALLBACK_DOWN_MS = Number(process.env.FAULT_CALLBACK_DOWN_MS ?? 30_000);
const RATE = 300;

const rows: FaultRow[] = [];
const cleanups: (() => Promise<void>)[] = [];

const suiteStart = Date.now();

/** A progress line, with the seconds since the suite started. */
function progress(text: string): void {
  process.stderr.write(`faults [${((Date.now() - suiteStart) / 1000).toFixed(1)} s]: ${text}\n`);
}

afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn().catch((err: unknown) => progress(`cleanup: ${err}`));
});

afterAll(async () => {
  const table = formatTable(rows);
  process.stdout.write(`\nFault injection results\n\n${table}\n\n`);
  const dir = path.join(REPO_ROOT, 'bench-results');
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'faults.json'), JSON.stringify(rows, null, 2));
  await writeFile(path.join(dir, 'faults.md'), `# Fault injection\n\n${table}\n`);
});

interface Scenario {
  /** The first backend and worker; scenarios add more through it. */
  stack: Stack;
  target: FaultTarget;
  callbacks: CallbackReceiver;
  /** The first backend's origin. */
  baseUrl: string;
  startedAt: number;
}

/** A backend, a worker, a target and a callback receiver on a fresh prefix; torn down after the test. */
async function scenario(label: string, env: Record<string, string> = {}): Promise<Scenario> {
  const target = await new FaultTarget().listen();
  const callbacks = await new CallbackReceiver().listen();
  cleanups.push(() => Promise.all([target.close(), callbacks.close()]).then(() => undefined));
  const stack = await startStack(`fault-${label}`, {
    env: { LOG_LEVEL: 'warn', CALLBACK_RETRY_DELAY_MS: '200', ...env },
  });
  // Cleanups run last first: the processes stop before the servers close.
  cleanups.push(() => stack.stop());
  return { stack, target, callbacks, baseUrl: stack.api.baseUrl, startedAt: Date.now() };
}

function okSpec(s: Scenario) {
  return () => ({ targetUrl: s.target.url('ok'), callbackUrl: s.callbacks.url, retryDelay: 200, maxRetries: 5 });
}

/** Waits until every accepted job has a final callback, or `timeoutMs`. */
function settle(s: Scenario, submissions: Submission[], timeoutMs: number): Promise<void> {
  return waitUntilFinal(submissions, s.callbacks, timeoutMs, progress);
}

function record(row: FaultRow): FaultRow {
  rows.push(row);
  progress(`${row.scenario}: ${JSON.stringify(row)}`);
  return row;
}

async function rssBytes(worker: RelayProcess): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${worker.metricsPort}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('process_resident_memory_bytes '));
  return Number(line?.split(' ')[1]);
}

it(`1. worker SIGKILLed three times during a ${JOBS}-job run, restarted each time: no job lost`, async () => {
  const s = await scenario('sigkill');
  progress(`1. submitting ${JOBS} jobs at ${RATE}/s; SIGKILL at 20%, 45% and 70% of the callbacks`);
  const load = submitJobs({
    baseUrl: () => s.baseUrl,
    count: JOBS,
    perSecond: RATE,
    spec: okSpec(s),
    onProgress: (n) => progress(`  submitted ${n}`),
  });
  let kills = 0;
  for (const share of [0.2, 0.45, 0.7]) {
    while (s.callbacks.received.length < JOBS * share) await new Promise((r) => setTimeout(r, 50));
    const victim = s.stack.workers.at(-1)!;
    victim.kill('SIGKILL');
    await victim.exited();
    kills++;
    progress(`  worker killed (${kills}) at ${s.callbacks.received.length} callbacks; restarting`);
    await s.stack.addWorker();
  }
  const submissions = await load;
  await settle(s, submissions, 120_000);
  const row = record(judge('worker SIGKILL x3', submissions, s.target, s.callbacks, s.startedAt, `${kills} kills`));
  expect(kills).toBe(3);
  expect(row.accepted).toBe(JOBS);
  expect(row.lost).toBe(0);
});

/**
 * A backing service down for `downMs` from 3 s into a 3,000-job run at
 * 200/s: submissions meanwhile get a quick 503, every accepted job still
 * completes, and the same backend and worker processes recover by themselves.
 */
async function serviceOutage(
  s: Scenario,
  service: { name: string; stop: () => Promise<void>; start: () => Promise<void>; downMs: number },
): Promise<{ row: FaultRow; submissions: Submission[] }> {
  const count = 3000;
  progress(`submitting ${count} jobs at 200/s; ${service.name} down from 3 s for ~${service.downMs / 1000} s`);
  const load = submitJobs({ baseUrl: () => s.baseUrl, count, perSecond: 200, spec: okSpec(s) });
  await new Promise((r) => setTimeout(r, 3000));
  await service.stop();
  progress(`  ${service.name} stopped`);
  await new Promise((r) => setTimeout(r, service.downMs));
  await service.start();
  progress(`  ${service.name} started`);
  const submissions = await load;
  await settle(s, submissions, 120_000);
  const refusedWith503 = submissions.filter((x) => x.status === 503).length;
  const row = record(
    judge(`${service.name} restart`, submissions, s.target, s.callbacks, s.startedAt, `${refusedWith503} answered 503`),
  );
  expect(refusedWith503).toBeGreaterThan(0);
  expect(submissions.every((x) => x.status === 202 || x.status === 503)).toBe(true);
  // No client hung: a refusal took at most the publish timeout plus slack.
  expect(row.slowestRefusalMs).toBeLessThan(5000);
  expect(row.lost).toBe(0);
  expect(s.stack.backend.child.exitCode).toBeNull();
  expect(s.stack.workers).toHaveLength(1);
  expect(s.stack.workers[0]!.child.exitCode).toBeNull();
  return { row, submissions };
}

it('2. RabbitMQ stopped and started during a run: 503 while down, every accepted job completes, no restart', async () => {
  const s = await scenario('rabbitmq', { PUBLISH_TIMEOUT_MS: '2000' });
  await serviceOutage(s, { name: 'RabbitMQ', stop: stopRabbitmq, start: startRabbitmq, downMs: 5000 });
});

it('3. Redis restarted (losing every key) during a run: 503 while down, every accepted job completes', async () => {
  const s = await scenario('redis');
  const { submissions } = await serviceOutage(s, { name: 'Redis', stop: stopRedis, start: startRedis, downMs: 3000 });
  // Jobs accepted after the restart are readable again.
  const last = submissions.filter((x) => x.status === 202).at(-1)!;
  expect((await new RelayClient(s.baseUrl).job(last.jobId!)).status).toBe(200);
});

it('4. targets that never answer, answer slowly or stream forever: timeouts fire, memory stays bounded, others flow', async () => {
  // One test server (one origin) and one application carry the healthy and
  // the bad jobs here, so both fairness caps are lifted to the worker's 64
  // slots: this scenario is about deadlines and memory; fairness between
  // origins and between applications is noisy-neighbour.fault.ts. With the
  // application cap at its default (48), the ~35 slots the bad jobs hold plus
  // the healthy ones can reach it on a slow machine, and a healthy job held
  // back waits the deferral tiers (0.25, 1, 4 s). CI read p90s of 0.9-4.3 s
  // against 9-11 ms here, and the one such run whose metrics were read had
  // put-backs by the application cap only: the cap, not the deadlines.
  const s = await scenario('slow-targets', {
    ATTEMPT_TIMEOUT_MAX_MS: '1000',
    HOST_CONCURRENCY: '64',
    APPLICATION_CONCURRENCY: '64',
  });
  const count = 1200;
  const kinds = ['hang', 'slow', 'endless'] as const;
  // One job in ten is a bad target.
  const kindOf = (seq: number) => (seq % 10 === 0 ? kinds[(seq / 10) % 3]! : 'ok');
  const rssBefore = await rssBytes(s.stack.workers[0]!);
  let rssPeak = rssBefore;
  const sampler = setInterval(() => {
    rssBytes(s.stack.workers[0]!).then(
      (v) => (rssPeak = Math.max(rssPeak, v)),
      () => undefined,
    );
  }, 250);
  progress(`4. submitting ${count} jobs at 200/s, one in ten to a hanging, slow or endless target`);
  const submissions = await submitJobs({
    baseUrl: () => s.baseUrl,
    count,
    perSecond: 200,
    spec: (seq) => ({
      targetUrl: s.target.url(kindOf(seq)),
      callbackUrl: s.callbacks.url,
      timeout: 1000,
      maxRetries: 1,
      retryDelay: 100,
    }),
  });
  await settle(s, submissions, 60_000);
  clearInterval(sampler);
  const byJob = s.callbacks.perJob();
  const statusOf = (seq: number) => byJob.get(submissions[seq]!.jobId!)?.[0]?.status;
  const okLatencies = submissions
    .filter((x) => kindOf(x.seq) === 'ok')
    .map((x) => byJob.get(x.jobId!)![0]!.at - x.at)
    .sort((a, b) => a - b);
  const p90 = okLatencies[Math.floor(okLatencies.length * 0.9)]!;
  const growthMb = (rssPeak - rssBefore) / 2 ** 20;
  // Said in the row, so that a slow p90 shows whether the caps played a part (they should not).
  const putBacks = await metricSum(s.stack.workers[0]!, 'relay_fairness_deferrals_total');
  const row = record(
    judge(
      'slow, hanging, endless targets',
      submissions,
      s.target,
      s.callbacks,
      s.startedAt,
      `healthy p90 ${p90} ms (p50 ${okLatencies[Math.floor(okLatencies.length / 2)]} ms); fairness put-backs ${putBacks}; worker RSS +${growthMb.toFixed(1)} MiB; endless bodies sent ${(s.target.endlessBytes / 2 ** 20).toFixed(1)} MiB`,
      // Hanging and slow targets time out twice (maxRetries 1).
      (seq) => (kindOf(seq) === 'hang' || kindOf(seq) === 'slow' ? 2 : 1),
    ),
  );
  expect(row.lost).toBe(0);
  for (const x of submissions) {
    const kind = kindOf(x.seq);
    // Hanging and slow (2 s) targets pass the 1 s deadline; endless bodies are cut at the stored cap.
    expect(statusOf(x.seq), `${kind} #${x.seq}`).toBe(kind === 'hang' || kind === 'slow' ? 'failed' : 'completed');
  }
  // Healthy jobs never waited behind a bad target's deadline.
  expect(p90, row.notes).toBeLessThan(1000);
  expect(growthMb).toBeLessThan(100);
  expect(row.duplicateTargetCalls).toBe(0);
});

it(`5. callback receiver down for ${CALLBACK_DOWN_MS / 1000} s: every result is delivered once it is back`, async () => {
  const s = await scenario('callback-down', {
    CALLBACK_RETRY_DELAY_MS: '500',
    CALLBACK_MAX_ATTEMPTS: '12',
    RETRY_MAX_DELAY_MS: '5000',
  });
  const count = 1000;
  progress(`5. submitting ${count} jobs at 200/s; callback receiver down from 1 s for ${CALLBACK_DOWN_MS} ms`);
  const load = submitJobs({ baseUrl: () => s.baseUrl, count, perSecond: 200, spec: okSpec(s) });
  await new Promise((r) => setTimeout(r, 1000));
  await s.callbacks.down();
  const downAt = Date.now();
  await new Promise((r) => setTimeout(r, CALLBACK_DOWN_MS));
  await s.callbacks.up();
  const upAt = Date.now();
  progress(`  receiver back after ${upAt - downAt} ms`);
  const submissions = await load;
  await settle(s, submissions, 60_000);
  const lastAt = Math.max(...s.callbacks.received.map((c) => c.at));
  const row = record(
    judge(
      `callback receiver down ${CALLBACK_DOWN_MS / 1000} s`,
      submissions,
      s.target,
      s.callbacks,
      s.startedAt,
      `all delivered ${((lastAt - upAt) / 1000).toFixed(1)} s after it came back`,
    ),
  );
  expect(row.accepted).toBe(count);
  expect(row.lost).toBe(0);
  expect(row.duplicateTargetCalls).toBe(0);
});

it('6. SIGTERM to the backend and the worker under load: no accepted job lost', async () => {
  const s = await scenario('sigterm', { WORKER_SHUTDOWN_GRACE_MS: '10000' });
  progress('  first backend and worker up; starting the spare backend');
  const spare = await s.stack.addBackend();
  const count = 3000;
  let baseUrl = s.baseUrl;
  progress(`6. submitting ${count} jobs at 200/s; SIGTERM to the backend and the worker at 4 s`);
  const load = submitJobs({ baseUrl: () => baseUrl, count, perSecond: 200, spec: okSpec(s) });
  await new Promise((r) => setTimeout(r, 4000));
  const oldWorker = s.stack.workers[0]!;
  await s.stack.addWorker();
  progress('  second worker up; SIGTERM to the first backend and worker');
  // Clients move to the other backend as the first one closes (a load balancer would).
  baseUrl = spare.baseUrl;
  s.stack.backend.kill('SIGTERM');
  oldWorker.kill('SIGTERM');
  const stoppedAt = Date.now();
  const timed = (p: Promise<number | null>) => p.then((code) => ({ code, ms: Date.now() - stoppedAt }));
  const [backendExit, workerExit] = await Promise.all([timed(s.stack.backend.exited()), timed(oldWorker.exited())]);
  progress(
    `  backend exited ${backendExit.code} after ${backendExit.ms} ms, worker ${workerExit.code} after ${workerExit.ms} ms`,
  );
  const submissions = await load;
  progress('  all submitted');
  await settle(s, submissions, 120_000);
  if (process.env.FAULT_DEBUG) {
    const perJob = s.callbacks.perJob();
    const slow = submissions
      .filter((x) => x.status === 202)
      .map((x) => ({ jobId: x.jobId, ms: (perJob.get(x.jobId!)?.[0]?.at ?? Infinity) - x.at }))
      .sort((a, b) => b.ms - a.ms)
      .slice(0, 3);
    progress(`slowest jobs: ${JSON.stringify(slow)}`);
    for (const w of s.stack.workers) {
      for (const j of slow) for (const l of w.lines.filter((l) => l.includes(j.jobId!))) progress(`  [${w.name}] ${l}`);
    }
  }
  const row = record(
    judge(
      'SIGTERM backend + worker',
      submissions,
      s.target,
      s.callbacks,
      s.startedAt,
      `exit codes ${backendExit.code}/${workerExit.code} after ${backendExit.ms}/${workerExit.ms} ms`,
    ),
  );
  expect(backendExit.code).toBe(0);
  expect(workerExit.code).toBe(0);
  // Neither waits on idle keep-alive connections, nor beyond the worker's
  // grace period.
  expect(backendExit.ms).toBeLessThan(10_000);
  expect(workerExit.ms).toBeLessThan(12_000);
  expect(row.lost).toBe(0);
});
