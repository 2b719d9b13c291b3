import { afterAll, expect, it } from 'vitest';
import { EventReceiver } from '../support/event-receiver.js';
import { reply, TestServer } from '../support/http-servers.js';
import { startStack, type Stack } from '../support/stack.js';
import { judgeEvents, type JobHistory } from './support/event-ledger.js';
import { CallbackReceiver } from './support/fault-servers.js';
import { unfinished, waitUntilFinal } from './support/ledger.js';
import { submitJobs } from './support/load.js';

/**
 * Lifecycle events under a worker crash (issue 14, "Prove it"): jobs with a
 * `*` webhook, in an application with a `*` subscription, while the worker is
 * SIGKILLed twice with event deliveries in flight (the receiver answers
 * after 20 ms) and restarted. For every finished job, each destination must
 * have received every event of its final history at least once, and copies
 * of one event must share their `webhook-id`. One job in five fails its first
 * attempt, so histories include `retrying`.
 *
 * Only the worker is killed: this file may run beside other tests, unlike
 * faults.fault.ts. FAULT_EVENT_JOBS sets its size (default 1000).
 */
const JOBS = Number(process.env.FAULT_EVENT_JOBS ?? 1000);
const RATE = 200;
const DESTINATIONS = ['/webhook', '/subscription'];

const suiteStart = Date.now();
function progress(text: string): void {
  process.stderr.write(`events fault [${((Date.now() - suiteStart) / 1000).toFixed(1)} s]: ${text}\n`);
}

let stack: Stack | null = null;
const receiver = new EventReceiver();
const callbacks = new CallbackReceiver();
const target = new TestServer();

afterAll(async () => {
  await stack?.stop();
  await Promise.all([receiver.close(), callbacks.close(), target.close()]);
});

it(`worker SIGKILLed twice with events in flight (${JOBS} jobs): no event of a finished job missing, copies share a webhook-id`, async () => {
  await Promise.all([receiver.listen(), callbacks.listen(), target.listen()]);
  const calls = new Map<number, number>();
  target.on('/t', (req, res) => {
    const seq = Number(req.headers['x-seq']);
    const n = (calls.get(seq) ?? 0) + 1;
    calls.set(seq, n);
    reply(res, seq % 5 === 0 && n === 1 ? 503 : 200);
  });
  stack = await startStack('fault-events', {
    env: { LOG_LEVEL: 'warn', EVENT_RETRY_DELAY_MS: '200', EVENT_MAX_ATTEMPTS: '10', CALLBACK_RETRY_DELAY_MS: '200' },
  });
  const s = stack;
  const sub = await s.api.json('POST', '/api/subscriptions', {
    name: 'every event',
    url: receiver.route('/subscription', { delayMs: 20 }),
    events: ['*'],
  });
  expect(sub.status, JSON.stringify(sub.body)).toBe(201);
  const webhook = receiver.route('/webhook', { delayMs: 20 });
  // The processes' subscription caches check for changes once a second.
  await new Promise((r) => setTimeout(r, 1500));

  // created, started, completed; a fifth of the jobs add retrying and started: ~3.4 events per job and destination.
  const expectedTotal = JOBS * 3.4 * DESTINATIONS.length;
  progress(`submitting ${JOBS} jobs at ${RATE}/s; SIGKILL at 25% and 60% of ~${expectedTotal} deliveries`);
  const load = submitJobs({
    baseUrl: () => s.api.baseUrl,
    count: JOBS,
    perSecond: RATE,
    spec: () => ({
      targetUrl: target.url('/t'),
      callbackUrl: callbacks.url,
      retryDelay: 200,
      maxRetries: 5,
      webhooks: { '*': webhook },
    }),
  });
  let kills = 0;
  for (const share of [0.25, 0.6]) {
    while (receiver.events.length < expectedTotal * share) await new Promise((r) => setTimeout(r, 20));
    const victim = s.workers.at(-1)!;
    victim.kill('SIGKILL');
    await victim.exited();
    kills++;
    progress(`worker killed (${kills}) at ${receiver.events.length} deliveries; restarting`);
    await s.addWorker();
  }
  const submissions = await load;
  await waitUntilFinal(submissions, callbacks, 120_000, progress);
  expect(unfinished(submissions, callbacks)).toEqual([]);
  const accepted = submissions.filter((x) => x.status === 202);
  expect(accepted).toHaveLength(JOBS);

  const histories: JobHistory[] = [];
  for (const x of accepted) {
    const res = await s.api.job(x.jobId!);
    expect(res.status).toBe(200);
    histories.push(res.body as JobHistory);
  }
  const judge = () =>
    judgeEvents(
      histories,
      DESTINATIONS,
      receiver.events.map((e) => ({
        destination: e.path,
        jobId: e.body.jobId,
        event: e.body.event,
        sequence: e.body.sequence,
        webhookId: e.webhookId,
      })),
    );
  // Event deliveries may still be retrying after the last job ended.
  const deadline = Date.now() + 120_000;
  let j = judge();
  while (j.missing.length > 0 && Date.now() < deadline) {
    progress(`waiting for ${j.missing.length} events`);
    await new Promise((r) => setTimeout(r, 2000));
    j = judge();
  }
  const retried = histories.filter((h) => h.attemptsLog.length > 1).length;
  const line =
    `${accepted.length} jobs finished (${retried} retried), ${kills} SIGKILLs: ${j.expected} events expected ` +
    `across ${DESTINATIONS.length} destinations, ${j.received} deliveries received, ${j.missing.length} missing, ` +
    `${j.duplicates} duplicates, ${j.conflictingIds.length} with differing webhook-ids`;
  process.stdout.write(`\nEvents under SIGKILL: ${line}\n\n`);
  expect(kills).toBe(2);
  expect(j.missing.slice(0, 20)).toEqual([]);
  expect(j.conflictingIds.slice(0, 20)).toEqual([]);
  expect(j.mislabelled.slice(0, 20)).toEqual([]);
});
