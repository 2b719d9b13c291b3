import { Redis } from 'ioredis';
import { afterEach, expect, it } from 'vitest';
import { REDIS_URL } from '../support/services.js';
import { startStack } from '../support/stack.js';
import { CountingReceiver, CountingTarget } from './support/counting-servers.js';
import { formatTable, type FaultRow } from './support/ledger.js';
import { submitJobs, type Submission } from './support/load.js';
import { usedMemory } from './support/redis-memory.js';

/**
 * Redis at maxmemory with noeviction, during load: `maxmemory` is set just
 * above `used_memory`, held for HOLD_MS, then put back. Intake must answer
 * 503 while Redis is full; nothing already accepted may be lost (every 202
 * job ends, with its callback, once the limit is lifted) or repeated in a
 * loop (callback POSTs and target calls per job stay within a small bound).
 *
 * It changes the shared Redis's maxmemory: run it alone, under the exclusive
 * lock (`flock -x /tmp/relay-brokers.lock pnpm vitest run --config
 * vitest.faults.config.ts e2e/faults/memory.fault.ts`). maxmemory and
 * maxmemory-policy are restored in `finally`, whatever happens.
 */

const JOBS = 3000;
const RATE = 200;
/** How long Redis stays full. */
const HOLD_MS = 8000;
/** Headroom above used_memory: the load fills it within a second or two. */
const HEADROOM_BYTES = 512 * 1024;
/** Most callback POSTs (and target calls) one job may get: a retry, never a loop. */
const MAX_PER_JOB = 2;

const t0 = Date.now();
const progress = (text: string) =>
  process.stderr.write(`memory [${((Date.now() - t0) / 1000).toFixed(1)} s]: ${text}\n`);
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn().catch((err: unknown) => progress(`cleanup: ${err}`));
});

it('Redis at maxmemory (noeviction) under load: 503 at intake, no callback storm, no job lost', async () => {
  const admin = new Redis(REDIS_URL);
  cleanups.push(async () => admin.disconnect());
  const [, maxmemory] = (await admin.config('GET', 'maxmemory')) as [string, string];
  const [, policy] = (await admin.config('GET', 'maxmemory-policy')) as [string, string];
  const restore = async () => {
    await admin.config('SET', 'maxmemory', maxmemory);
    await admin.config('SET', 'maxmemory-policy', policy);
  };
  const target = await new CountingTarget().listen();
  const receiver = await new CountingReceiver().listen();
  cleanups.push(() => Promise.all([target.close(), receiver.close()]).then(() => undefined));
  // One target and one application: the fairness caps would only pace the slow target here, which is not
  // what this scenario measures, so they are raised to the worker's slots.
  const stack = await startStack('fault-memory', {
    env: {
      LOG_LEVEL: 'warn',
      CALLBACK_RETRY_DELAY_MS: '200',
      HOST_CONCURRENCY: '64',
      APPLICATION_CONCURRENCY: '64',
    },
  });
  cleanups.push(() => stack.stop());

  let submissions: Submission[] = [];
  let fullFor = 0;
  try {
    progress(`submitting ${JOBS} jobs at ${RATE}/s; Redis full from 3 s for ${HOLD_MS / 1000} s`);
    const load = submitJobs({
      baseUrl: () => stack.api.baseUrl,
      count: JOBS,
      perSecond: RATE,
      // Slow answers: attempts begun before Redis fills are recorded, and
      // their callbacks delivered, while it is full.
      spec: () => ({
        targetUrl: target.url('/slow'),
        callbackUrl: receiver.url('/cb'),
        retryDelay: 200,
        maxRetries: 5,
      }),
    });
    await new Promise((r) => setTimeout(r, 3000));
    await admin.config('SET', 'maxmemory-policy', 'noeviction');
    const used = await usedMemory(admin);
    await admin.config('SET', 'maxmemory', String(used + HEADROOM_BYTES));
    const fullAt = Date.now();
    progress(`maxmemory set to used_memory ${used} + ${HEADROOM_BYTES} B`);
    await new Promise((r) => setTimeout(r, HOLD_MS));
    await restore();
    fullFor = Date.now() - fullAt;
    progress(`maxmemory restored to ${maxmemory} (policy ${policy}) after ${fullFor} ms`);
    submissions = await load;
  } finally {
    await restore();
  }

  const accepted = submissions.filter((s) => s.status === 202);
  const deadline = Date.now() + 120_000;
  for (let last = 0; ;) {
    const left = accepted.filter((s) => !receiver.isFinal(s.jobId!)).length;
    if (left === 0 || Date.now() > deadline) break;
    if (Date.now() - last > 5000) {
      progress(`waiting for ${left} jobs to finish`);
      last = Date.now();
    }
    await new Promise((r) => setTimeout(r, 200));
  }

  const refused = submissions.filter((s) => s.status !== 202);
  const lost = accepted.filter((s) => !receiver.isFinal(s.jobId!));
  const callbacksPerJob = accepted.map((s) => receiver.perJob.get(s.jobId!)?.count ?? 0);
  const callsPerJob = accepted.map((s) => target.calls.get(s.seq) ?? 0);
  const maxCallbacks = Math.max(0, ...callbacksPerJob);
  const maxCalls = Math.max(0, ...callsPerJob);
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const row: FaultRow = {
    scenario: 'Redis at maxmemory (noeviction)',
    accepted: accepted.length,
    refused: refused.length,
    lost: lost.length,
    duplicateTargetCalls: sum(callsPerJob.map((c) => Math.max(0, c - 1))),
    callsForRefused: refused.filter((s) => (target.calls.get(s.seq) ?? 0) > 0).length,
    duplicateCallbacks: sum(callbacksPerJob.map((c) => Math.max(0, c - 1))),
    slowestRefusalMs: Math.round(Math.max(0, ...refused.map((s) => s.ms))),
    seconds: Math.round((Date.now() - t0) / 100) / 10,
    notes: `full ${fullFor} ms; refusals ${[...new Set(refused.map((s) => `${s.status} ${s.code}`))].join(', ')}; most callbacks per job ${maxCallbacks}, most target calls per job ${maxCalls}`,
  };
  process.stdout.write(`\n${formatTable([row])}\n\n`);
  expect(refused.length).toBeGreaterThan(0);
  expect(refused.every((s) => s.status === 503)).toBe(true);
  expect(row.lost).toBe(0);
  expect(maxCallbacks).toBeLessThanOrEqual(MAX_PER_JOB);
  expect(maxCalls).toBeLessThanOrEqual(MAX_PER_JOB);
  expect(stack.backend.child.exitCode).toBeNull();
  expect(stack.workers[0]!.child.exitCode).toBeNull();
});
