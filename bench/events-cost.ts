/**
 * What lifecycle events cost the job path (issue 14, "Cost"): job throughput
 * with no subscription, and with 3 subscriptions that match every job (every
 * event, filtered on one metadata pair the jobs carry), delivering to a local
 * receiver on 127.0.0.1. A run is a fixed number of jobs from a closed loop
 * of clients; its figure is jobs per second from the first submit to the last
 * callback. Runs alternate (without, with, without, ...) so that drift in the
 * machine's background load falls on both sides alike; figures are medians.
 * After a run with subscriptions, it also waits until every event was
 * delivered (3 events per job, to each subscription) and reports how long
 * that took after the last callback.
 */
import { writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { request } from 'undici';
import { settled, type Batch, type Submitter } from './load-generator.js';
import { sleep, type Context, type Scenario } from './measures.js';
import { median } from './stats.js';

/** The metadata every job of this phase carries, and the subscriptions filter on. */
export const EVENTS_COST_METADATA = { bench: 'events' } as const;

/** Subscriptions in the "with" runs: the issue's figure. */
const SUBSCRIPTIONS = 3;
/** Events of a job that succeeds at its first attempt: created, started, completed. */
const EVENTS_PER_JOB = 3;
/**
 * A subscription change reaches each process within ~1 s (it checks the
 * application's version at most once a second: subscription-cache.ts).
 */
const SUBSCRIPTION_CACHE_WAIT_MS = 1500;

export interface EventsCostRun {
  subscriptions: number;
  jobs: number;
  refused: number;
  seconds: number;
  jobsPerSec: number;
  /** Event deliveries received during the run and its wait. */
  eventDeliveries: number;
  /** From the last callback until every event was delivered (ms); null without subscriptions, NaN if some never came. */
  eventsSettledMs: number | null;
}

export interface EventsCostResult {
  jobs: number;
  clients: number;
  runs: EventsCostRun[];
  /** Median jobs/s without and with the subscriptions. */
  withoutPerSec: number;
  withPerSec: number;
  /** withPerSec / withoutPerSec. */
  ratio: number;
}

/** Counts the event deliveries it receives; answers 204. */
class EventSink {
  received = 0;
  private readonly server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      this.received++;
      res.writeHead(204);
      res.end();
    });
  });

  async listen(): Promise<this> {
    // Node's default; shorter would make undici open a connection per delivery.
    this.server.keepAliveTimeout = 5000;
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return this;
  }

  url(p: string): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}${p}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

async function api(origin: string, method: 'POST' | 'DELETE', p: string, body?: unknown): Promise<any> {
  const res = await request(`${origin}${p}`, {
    method,
    headers: body ? { 'content-type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.body.text();
  if (res.statusCode >= 300) throw new Error(`${method} ${p}: ${res.statusCode} ${text}`);
  return text ? JSON.parse(text) : null;
}

/** Submits one job and records the answer in `batch` (as load-generator.ts's submit does). */
async function submitOne(sub: Submitter, batch: Batch): Promise<void> {
  const now = performance.now();
  const seq = batch.add(now, now);
  try {
    const res = await sub.pool.request({
      path: sub.path,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: sub.body(batch, seq),
    });
    await res.body.dump();
    if (res.statusCode === 202) {
      batch.acceptedAt[seq] = performance.now();
      batch.accepted++;
    } else batch.refuse(`HTTP ${res.statusCode}`);
  } catch (err) {
    batch.refuse((err as Error).message);
  }
}

/** `jobs` jobs from `clients` closed-loop clients; jobs/s from the first submit to the last callback. */
async function runJobs(
  ctx: Context,
  scenario: Scenario,
  jobs: number,
  clients: number,
  label: string,
): Promise<{ seconds: number; accepted: number; refused: number; lastCallbackAt: number }> {
  const batch = ctx.receiver.open(label);
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < jobs) {
        next++;
        await submitOne(scenario.submitter, batch);
      }
    }),
  );
  const settleMs = await settled(batch, ctx.settings.settleTimeoutMs);
  ctx.receiver.close(batch);
  if (Number.isNaN(settleMs)) throw new Error(`${label}: ${batch.outstanding} jobs never called back`);
  const lastCallbackAt = Math.max(...batch.calledBackAt.filter((t) => !Number.isNaN(t)));
  return { seconds: (lastCallbackAt - t0) / 1000, accepted: batch.accepted, refused: batch.refused, lastCallbackAt };
}

/**
 * `scenario` must submit jobs that carry EVENTS_COST_METADATA to relay at
 * `relayOrigin` (RELAY_AUTH off: the subscriptions are the default
 * application's). Leaves no subscription behind.
 */
export async function eventsCost(
  ctx: Context,
  scenario: Scenario,
  relayOrigin: string,
  options: { jobs: number; pairs: number; clients?: number },
): Promise<EventsCostResult> {
  const clients = options.clients ?? 64;
  const sink = await new EventSink().listen();
  const runs: EventsCostRun[] = [];
  try {
    for (let pair = 1; pair <= options.pairs; pair++) {
      for (const subscriptions of [0, SUBSCRIPTIONS]) {
        const ids: string[] = [];
        for (let i = 0; i < subscriptions; i++) {
          const sub = await api(relayOrigin, 'POST', '/api/subscriptions', {
            name: `bench ${i + 1}`,
            url: sink.url(`/events/${i + 1}`),
            events: ['*'],
            filters: { metadata: EVENTS_COST_METADATA },
          });
          ids.push(sub.id as string);
        }
        if (subscriptions) await sleep(SUBSCRIPTION_CACHE_WAIT_MS);
        const receivedBefore = sink.received;
        const label = `events cost pair ${pair}/${options.pairs}, ${subscriptions} subscriptions`;
        const run = await runJobs(ctx, scenario, options.jobs, clients, label);
        let eventsSettledMs: number | null = null;
        if (subscriptions) {
          const expected = run.accepted * EVENTS_PER_JOB * subscriptions;
          const deadline = performance.now() + ctx.settings.settleTimeoutMs;
          while (sink.received - receivedBefore < expected && performance.now() < deadline) await sleep(10);
          eventsSettledMs =
            sink.received - receivedBefore >= expected
              ? Math.round(performance.now() - run.lastCallbackAt)
              : Number.NaN;
          for (const id of ids) await api(relayOrigin, 'DELETE', `/api/subscriptions/${id}`);
          await sleep(SUBSCRIPTION_CACHE_WAIT_MS);
        }
        const jobsPerSec = Math.round(run.accepted / run.seconds);
        runs.push({
          subscriptions,
          jobs: run.accepted,
          refused: run.refused,
          seconds: Math.round(run.seconds * 100) / 100,
          jobsPerSec,
          eventDeliveries: sink.received - receivedBefore,
          eventsSettledMs,
        });
        ctx.log(
          `${label}: ${jobsPerSec} jobs/s (${run.accepted} jobs in ${run.seconds.toFixed(2)} s` +
            `${run.refused ? `, ${run.refused} refused` : ''})` +
            (eventsSettledMs === null
              ? ''
              : `; ${sink.received - receivedBefore} event deliveries, the last ${eventsSettledMs} ms after the last callback`),
        );
        await scenario.reset();
      }
    }
  } finally {
    await sink.stop();
  }
  const withoutPerSec = median(runs.filter((r) => r.subscriptions === 0).map((r) => r.jobsPerSec));
  const withPerSec = median(runs.filter((r) => r.subscriptions > 0).map((r) => r.jobsPerSec));
  return {
    jobs: options.jobs,
    clients,
    runs,
    withoutPerSec,
    withPerSec,
    ratio: Math.round((withPerSec / withoutPerSec) * 1000) / 1000,
  };
}

export function describeEventsCost(r: EventsCostResult): string {
  const late = r.runs.filter((x) => x.eventsSettledMs !== null).map((x) => x.eventsSettledMs!);
  return (
    `events cost (${r.jobs} jobs per run, ${r.clients} clients, ${r.runs.length / 2} alternated pairs): ` +
    `${r.withoutPerSec} jobs/s with 0 subscriptions, ${r.withPerSec} jobs/s with ${SUBSCRIPTIONS} matching ` +
    `subscriptions: ratio ${r.ratio.toFixed(3)}; every event delivered ${late.map((ms) => `${ms} ms`).join(', ')} ` +
    `after the last callback`
  );
}

/** Writes the result beside the benchmark's other files. */
export async function writeEventsCost(dir: string, r: EventsCostResult): Promise<string> {
  const file = path.join(dir, 'events-cost.json');
  await writeFile(file, JSON.stringify(r, null, 2));
  return file;
}
