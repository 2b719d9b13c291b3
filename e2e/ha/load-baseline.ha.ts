import { afterEach, expect, it } from 'vitest';
import { startStack, type Stack } from '../support/stack.js';
import { formatReport } from './support/load-report.js';
import { runLoad } from './support/load.js';

/**
 * The HA load harness (support/load.ts) against the machine's single RabbitMQ
 * and Redis, with no node failing: the control for the cluster scenarios
 * (every 202 ends, nothing twice, no 503), and the proof that its ledger does
 * see a loss when there is one (a worker killed for good leaves jobs queued).
 */

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.stop();
  stack = undefined;
});

const suiteStart = Date.now();
function progress(text: string): void {
  process.stderr.write(`ha baseline [${((Date.now() - suiteStart) / 1000).toFixed(1)} s]: ${text}\n`);
}

it('200 jobs/s for 10 s through two backends, no fault: all accepted, all final, none lost or delivered twice', async () => {
  stack = await startStack('ha-baseline', { env: { LOG_LEVEL: 'warn' }, workers: 2 });
  const second = await stack.addBackend();
  const report = await runLoad(
    { baseUrls: [stack.api.baseUrl, second.baseUrl], perSecond: 200, durationMs: 10_000, log: progress },
    async (load) => {
      await new Promise((r) => setTimeout(r, 5_000));
      load.mark('half way');
    },
  );
  progress(formatReport('no fault', report));
  expect(report).toMatchObject({
    submitted: 2000,
    accepted: 2000,
    refused503: 0,
    otherErrors: 0,
    lost: 0,
    duplicates: 0,
    deliveredNotAccepted: 0,
    finalStatuses: { completed: 2000 },
  });
  expect(report.delivered).toBe(2000);
  // The mark lands in the timeline no earlier than it was made (later when the event loop lags).
  expect(report.timeline.find((t) => t.marks.includes('half way'))?.second).toBeGreaterThanOrEqual(5);
});

it('counts as lost the jobs a worker killed for good leaves queued', async () => {
  stack = await startStack('ha-baseline-loss', { env: { LOG_LEVEL: 'warn' }, workers: 1 });
  const worker = stack.workers[0]!;
  // No durationMs: the load lasts as long as the scenario.
  const report = await runLoad(
    { baseUrls: [stack.api.baseUrl], perSecond: 200, settleTimeoutMs: 3_000, log: progress },
    async (load) => {
      await new Promise((r) => setTimeout(r, 1_000));
      load.mark('worker killed');
      worker.kill('SIGKILL');
      await worker.exited();
      await new Promise((r) => setTimeout(r, 3_000));
    },
  );
  progress(formatReport('worker killed', report));
  expect(report.submitted).toBeGreaterThan(400);
  expect(report.accepted).toBe(report.submitted);
  // Jobs accepted after the kill (3 s of the 4) had no worker to run them.
  expect(report.lost).toBeGreaterThan(report.submitted / 2);
  expect(report.lost).toBeLessThanOrEqual(report.accepted);
  expect(report.finalStatuses.completed ?? 0).toBe(report.accepted - report.lost);
  expect(report.delivered).toBeLessThan(report.accepted);
});
