import { afterEach, expect, it } from 'vitest';
import { queueNames } from '@relay/common';
import type { RelayProcess } from '../support/processes.js';
import { metricSum } from '../support/metrics.js';
import { startStack, type Stack } from '../support/stack.js';
import { CallbackReceiver, FaultTarget } from './support/fault-servers.js';
import { judge, type FaultRow, waitUntilFinal } from './support/ledger.js';
import { submitJobs, type Submission } from './support/load.js';
import {
  closeConsumerChannels,
  consumerCount,
  deleteQueueWhenEmpty,
  memoryAlarmOn,
  memoryWatermark,
  setMemoryWatermark,
} from './support/rabbitmq-faults.js';

/**
 * Self-healing AMQP under load (issue 11, item 1):
 * - the broker closes the worker's consuming channel (a channel error, the
 *   connection stays up), then the work queue is deleted (a consumer cancel):
 *   the worker consumes again within 5 s each time and no job is lost;
 * - a memory alarm: intake answers 503 at once while it lasts, jobs in flight
 *   finish, none is lost.
 * It raises a broker-wide alarm: run it alone, under the exclusive lock.
 */

const cleanups: (() => Promise<void>)[] = [];
const suiteStart = Date.now();

function progress(text: string): void {
  process.stderr.write(`amqp faults [${((Date.now() - suiteStart) / 1000).toFixed(1)} s]: ${text}\n`);
}

afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn().catch((err: unknown) => progress(`cleanup: ${err}`));
});

interface Scenario {
  stack: Stack;
  target: FaultTarget;
  callbacks: CallbackReceiver;
  startedAt: number;
}

async function scenario(label: string, env: Record<string, string> = {}): Promise<Scenario> {
  const target = await new FaultTarget().listen();
  const callbacks = await new CallbackReceiver().listen();
  cleanups.push(() => Promise.all([target.close(), callbacks.close()]).then(() => undefined));
  const stack = await startStack(`fault-${label}`, { env: { LOG_LEVEL: 'warn', ...env } });
  cleanups.push(() => stack.stop());
  return { stack, target, callbacks, startedAt: Date.now() };
}

/** Waits until every accepted job has a final callback, or `timeoutMs`. */
function settle(s: Scenario, submissions: Submission[], timeoutMs: number): Promise<void> {
  return waitUntilFinal(submissions, s.callbacks, timeoutMs, progress);
}

async function health(worker: RelayProcess): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${worker.metricsPort}/health`).catch(() => null);
  return res?.status ?? 0;
}

const consumingGauge = (worker: RelayProcess) => metricSum(worker, 'relay_worker_consuming');
const reconcilerRepairs = (worker: RelayProcess) => metricSum(worker, 'relay_reconciler_repairs_total');

/**
 * Runs `fault` and measures how long until the worker consumes again: its
 * /health answers 200 and the broker lists a consumer on the work queue
 * again. Also reports whether /health was seen answering 503 meanwhile.
 */
async function timeToConsuming(
  worker: RelayProcess,
  queue: string,
  fault: () => Promise<void>,
): Promise<{ ms: number; saw503: boolean }> {
  let saw503 = false;
  let polling = true;
  const poller = (async () => {
    while (polling) {
      if ((await health(worker)) === 503) saw503 = true;
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  const t0 = Date.now();
  await fault();
  const deadline = t0 + 10_000;
  // Give the broker's close or cancel a moment to reach the worker.
  await new Promise((r) => setTimeout(r, 50));
  while (Date.now() < deadline) {
    if ((await health(worker)) === 200 && (await consumerCount(queue)) > 0) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const ms = Date.now() - t0;
  polling = false;
  await poller;
  return { ms, saw503 };
}

it('1. channel closed by the broker, then the work queue deleted, under load: consuming again within 5 s, no job lost', async () => {
  // A short reconciler grace, so the one gap mandatory publishing leaves (below) is repaired within the run.
  const s = await scenario('amqp-channel', { RECONCILE_GRACE_MS: '2000', RECONCILE_INTERVAL_MS: '500' });
  const worker = s.stack.workers[0]!;
  const queue = queueNames(s.stack.prefix).work;
  const count = 3000;
  progress(`1. submitting ${count} jobs at 200/s; channel error at 4 s, work queue deleted at 9 s`);
  const load = submitJobs({
    baseUrl: () => s.stack.api.baseUrl,
    count,
    perSecond: 200,
    spec: () => ({ targetUrl: s.target.url('ok'), callbackUrl: s.callbacks.url, retryDelay: 200, maxRetries: 5 }),
  });
  await new Promise((r) => setTimeout(r, 4000));
  let closed = 0;
  const channel = await timeToConsuming(worker, queue, async () => {
    closed = await closeConsumerChannels(queue);
  });
  progress(
    `  channel error on ${closed} consumer channel(s): consuming again after ${channel.ms} ms (503 seen: ${channel.saw503})`,
  );
  expect(closed).toBe(1);
  // The channel is reopened on its own connection, or, when a delivery for the
  // closed channel arrives first (amqplib then fails the whole connection:
  // "Frame on unknown channel"), the connection is re-established.
  const reopenedLine = await Promise.any([
    worker.waitForLine('rabbitmq channel reopened', 5000),
    worker.waitForLine('rabbitmq reconnected', 5000),
  ]);
  const reopened = JSON.parse(reopenedLine) as { ms: number; msg: string };
  progress(`  the worker logged "${reopened.msg}" ${reopened.ms} ms after the broker closed the channel`);

  await new Promise((r) => setTimeout(r, 5000 - channel.ms));
  let deleteTries = 0;
  const deletedAt = Date.now();
  const cancel = await timeToConsuming(worker, queue, async () => {
    deleteTries = await deleteQueueWhenEmpty(queue);
  });
  progress(
    `  work queue deleted (when empty, try ${deleteTries}): consuming again after ${cancel.ms} ms (503 seen: ${cancel.saw503})`,
  );
  const resumed = JSON.parse(await worker.waitForLine('consuming again after a consumer cancel', 5000)) as {
    ms: number;
  };
  progress(`  the worker logged consuming again ${resumed.ms} ms after the cancel`);
  const consumingAgainAt = deletedAt + cancel.ms;

  const submissions = await load;
  await settle(s, submissions, 30_000);
  // A publish the broker routed to the work queue while it was being deleted
  // is confirmed without a return (RabbitMQ confirms what a deleted queue
  // held), so its job is accepted with no message: the reconciler publishes
  // it again once it is RECONCILE_GRACE_MS overdue. Nothing may stay unfinished.
  const repairs = await reconcilerRepairs(worker);
  const refused = submissions.filter((x) => x.status !== 202);
  const row: FaultRow = judge(
    'channel closed + work queue deleted',
    submissions,
    s.target,
    s.callbacks,
    s.startedAt,
    `consuming again after ${channel.ms} ms (channel error), ${cancel.ms} ms (queue deleted); ${refused.length} answered 503; ` +
      `${repairs} job(s) republished by the reconciler`,
  );
  progress(`1. ${JSON.stringify(row)}`);
  expect(channel.ms).toBeLessThan(5000);
  expect(cancel.ms).toBeLessThan(5000);
  expect(channel.saw503 || cancel.saw503).toBe(true);
  expect(submissions.every((x) => x.status === 202 || x.status === 503)).toBe(true);
  expect(row.lost).toBe(0);
  // At-least-once: only messages in flight on the closed channel are redelivered.
  expect(row.duplicateTargetCalls).toBeLessThanOrEqual(64);
  expect(await consumingGauge(worker)).toBe(1);
  expect(worker.child.exitCode).toBeNull();
});

it('2. memory alarm on RabbitMQ under load: 503 at once while it lasts, jobs in flight finish, none lost', async () => {
  // A long confirm timeout: a 503 that comes quickly cannot be the timeout.
  const s = await scenario('amqp-alarm', { PUBLISH_TIMEOUT_MS: '10000' });
  const worker = s.stack.workers[0]!;
  const original = await memoryWatermark();
  progress(`2. memory watermark is ${original.join(' ')}`);
  const count = 2000;
  let alarmFrom = 0;
  let alarmTo = 0;
  let workerHealthDuringAlarm = 0;
  let submissions: Submission[] = [];
  try {
    progress(`  submitting ${count} jobs at 200/s; memory alarm from 3 s for ~4 s`);
    const load = submitJobs({
      baseUrl: () => s.stack.api.baseUrl,
      count,
      perSecond: 200,
      spec: () => ({ targetUrl: s.target.url('ok'), callbackUrl: s.callbacks.url, retryDelay: 200, maxRetries: 5 }),
    });
    await new Promise((r) => setTimeout(r, 3000));
    await setMemoryWatermark(['0.0000001']);
    alarmFrom = Date.now();
    progress(`  alarm raised: ${await memoryAlarmOn()}`);
    await new Promise((r) => setTimeout(r, 4000));
    workerHealthDuringAlarm = await health(worker);
    await setMemoryWatermark(original);
    alarmTo = Date.now();
    progress(`  watermark back to ${original.join(' ')} after ${alarmTo - alarmFrom} ms`);
    submissions = await load;
  } finally {
    await setMemoryWatermark(original);
  }
  await settle(s, submissions, 120_000);
  const during = submissions.filter((x) => x.at >= alarmFrom + 200 && x.at + x.ms <= alarmTo);
  const refused = submissions.filter((x) => x.status !== 202);
  const row = judge(
    'RabbitMQ memory alarm',
    submissions,
    s.target,
    s.callbacks,
    s.startedAt,
    `${refused.length} answered 503 (${during.filter((x) => x.status === 503).length}/${during.length} of those sent during the alarm); worker /health ${workerHealthDuringAlarm} during it`,
  );
  progress(`2. ${JSON.stringify(row)}`);
  expect(await memoryAlarmOn()).toBe(false);
  expect(refused.length).toBeGreaterThan(0);
  expect(submissions.every((x) => x.status === 202 || x.status === 503)).toBe(true);
  // Quickly: well under the 10 s confirm timeout.
  expect(row.slowestRefusalMs).toBeLessThan(2000);
  expect(row.lost).toBe(0);
  // Consuming and acking go on during the alarm: they have a connection of their own.
  expect(workerHealthDuringAlarm).toBe(200);
  expect(worker.child.exitCode).toBeNull();
});
