import amqp from 'amqplib';
import { afterAll, expect, it } from 'vitest';
import { queueNames } from '@relay/common';
import { reply, TestServer } from '../support/http-servers.js';
import { RABBITMQ_URL } from '../support/services.js';
import { startStack } from '../support/stack.js';
import { submitJobs } from './support/load.js';

/**
 * Messages removed behind relay's back: the work queue and every delay queue
 * of the test's prefix are purged twice during a load with retries in flight
 * (one job in three fails its first attempt and waits RETRY_DELAY_MS) and
 * callback retries in flight (one callback in four fails its first delivery).
 * Only the reconciler can finish the jobs whose messages were purged. Every
 * job must still end, with its final callback, within its own schedule plus
 * the grace period (twice, since a republished message can be purged again,
 * plus a sweep interval and slack each time). Prints repairs, lost jobs (must
 * be 0), duplicates and the longest time over schedule.
 *
 * Purges only its own prefix's queues, but run it under the exclusive lock
 * like the other fault files:
 *   flock -x /tmp/relay-brokers.lock pnpm vitest run --config vitest.faults.config.ts e2e/faults/purge.fault.ts
 */

const JOBS = Number(process.env.FAULT_PURGE_JOBS ?? 1500);
const RATE = 150;
const GRACE_MS = 2000;
const INTERVAL_MS = 500;
const RETRY_DELAY_MS = 3000;
const CALLBACK_RETRY_MS = 200;
/** Bound on the time past its schedule a job may take: two repairs, each a grace plus a sweep, plus slack under load. */
const OVER_SCHEDULE_MAX_MS = 2 * (GRACE_MS + INTERVAL_MS) + 8000;

const started = Date.now();
function progress(text: string): void {
  process.stderr.write(`purge [${((Date.now() - started) / 1000).toFixed(1)} s]: ${text}\n`);
}

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const fn of cleanups.reverse()) await fn().catch((err: unknown) => progress(`cleanup: ${err}`));
});

/** What one job needs without a fault: its attempts and the wait before its callback can land. */
const flaky = (seq: number) => seq % 3 === 0;

it('work and delay queues purged twice mid-load: every job still ends within its schedule plus the grace', async () => {
  const calls = new Map<number, number>();
  const target = new TestServer().on('/t', (req, res) => {
    const seq = Number(req.headers['x-seq']);
    const n = (calls.get(seq) ?? 0) + 1;
    calls.set(seq, n);
    reply(res, flaky(seq) && n === 1 ? 503 : 200, '{}', { 'content-type': 'application/json' });
  });
  const finals = new Map<string, number[]>();
  const seenCallbacks = new Set<string>();
  let callbackCount = 0;
  const receiver = new TestServer().on('/cb', (req, res) => {
    const body = JSON.parse(req.body) as { jobId: string; status: string };
    callbackCount++;
    // One job in four: the first delivery fails, so callback retries sit on the delay queues.
    const firstTime = !seenCallbacks.has(body.jobId);
    seenCallbacks.add(body.jobId);
    if (firstTime && parseInt(body.jobId.slice(0, 2), 16) % 4 === 0) return reply(res, 500);
    finals.set(body.jobId, [...(finals.get(body.jobId) ?? []), req.at]);
    reply(res, 204);
  });
  await Promise.all([target.listen(), receiver.listen()]);
  cleanups.push(() => Promise.all([target.close(), receiver.close()]).then(() => undefined));
  const stack = await startStack('fault-purge', {
    env: {
      LOG_LEVEL: 'warn',
      RECONCILE_GRACE_MS: String(GRACE_MS),
      RECONCILE_INTERVAL_MS: String(INTERVAL_MS),
      CALLBACK_RETRY_DELAY_MS: String(CALLBACK_RETRY_MS),
    },
    workers: 2,
  });
  cleanups.push(() => stack.stop());

  const conn = await amqp.connect(RABBITMQ_URL);
  cleanups.push(() => conn.close());
  const channel = await conn.createChannel();
  const queues = queueNames(stack.prefix);
  let purged = 0;
  const purge = async () => {
    for (const q of [...queues.workQueues.map((w) => w.queue), ...queues.allDelay()])
      purged += (await channel.purgeQueue(q)).messageCount;
    progress(`  purged the work and delay queues: ${purged} messages removed so far`);
  };

  progress(`submitting ${JOBS} jobs at ${RATE}/s; purging at 4 s and 8 s`);
  const load = submitJobs({
    baseUrl: () => stack.api.baseUrl,
    count: JOBS,
    perSecond: RATE,
    spec: () => ({
      targetUrl: target.url('/t'),
      callbackUrl: receiver.url('/cb'),
      retryDelay: RETRY_DELAY_MS,
      maxRetries: 3,
    }),
  });
  await new Promise((r) => setTimeout(r, 4000));
  await purge();
  await new Promise((r) => setTimeout(r, 4000));
  await purge();
  const submissions = await load;
  const accepted = submissions.filter((s) => s.status === 202);
  progress(`  ${accepted.length} accepted; waiting for every job to end`);

  const scheduleMs = (seq: number) => (flaky(seq) ? RETRY_DELAY_MS : 0) + 2 * CALLBACK_RETRY_MS;
  const waitUntil = Date.now() + RETRY_DELAY_MS + OVER_SCHEDULE_MAX_MS + 20_000;
  let lastLog = 0;
  while (Date.now() < waitUntil && accepted.some((s) => !finals.has(s.jobId!))) {
    if (Date.now() - lastLog > 3000) {
      progress(`  ${accepted.filter((s) => !finals.has(s.jobId!)).length} jobs not final yet`);
      lastLog = Date.now();
    }
    await new Promise((r) => setTimeout(r, 200));
  }

  const lost = accepted.filter((s) => !finals.has(s.jobId!));
  let longestOverMs = 0;
  for (const s of accepted) {
    const at = finals.get(s.jobId!)?.[0];
    if (at !== undefined) longestOverMs = Math.max(longestOverMs, at - s.at - scheduleMs(s.seq));
  }
  let duplicateTargetCalls = 0;
  for (const s of accepted) duplicateTargetCalls += Math.max(0, (calls.get(s.seq) ?? 0) - (flaky(s.seq) ? 2 : 1));
  let duplicateCallbacks = 0;
  for (const times of finals.values()) duplicateCallbacks += times.length - 1;
  let repairs = 0;
  const repairsByKind: Record<string, number> = {};
  for (const worker of stack.workers) {
    const text = await (await fetch(`http://127.0.0.1:${worker.metricsPort}/metrics`)).text();
    for (const m of text.matchAll(/^relay_reconciler_repairs_total\{kind="([a-z_]+)"\} (\d+)/gm)) {
      repairsByKind[m[1]!] = (repairsByKind[m[1]!] ?? 0) + Number(m[2]);
      repairs += Number(m[2]);
    }
  }
  const figures = {
    accepted: accepted.length,
    refused: submissions.length - accepted.length,
    purgedMessages: purged,
    repairs,
    repairsByKind,
    lost: lost.length,
    duplicateTargetCalls,
    duplicateCallbacks,
    callbacksReceived: callbackCount,
    longestOverScheduleMs: Math.round(longestOverMs),
    boundMs: OVER_SCHEDULE_MAX_MS,
  };
  progress(`messages purged: ${JSON.stringify(figures)}`);
  process.stdout.write(`\nPurge scenario: ${JSON.stringify(figures)}\n`);

  expect(accepted.length).toBe(JOBS);
  expect(purged).toBeGreaterThan(0);
  expect(repairs).toBeGreaterThan(0);
  expect(lost.map((s) => s.jobId)).toEqual([]);
  expect(longestOverMs).toBeLessThanOrEqual(OVER_SCHEDULE_MAX_MS);
});
