import { FINAL_STATUSES } from '@relay/common';
import { submitJobs } from '../../faults/support/load.js';
import { TestServer } from '../../support/http-servers.js';
import { RelayClient } from '../../support/relay-client.js';
import { loadReport, type Delivery, type LoadReport, type SubmissionRecord } from './load-report.js';

/**
 * The HA scenarios' load generator and ledger: submits jobs at a fixed rate
 * (open loop, the fault suite's submitJobs) to one or more relay backends,
 * each job aimed at a local target that records every delivery by the
 * relay-job-id and relay-attempt headers relay sends; meanwhile the scenario
 * kills a node. Afterwards it waits, bounded, for every accepted job to reach
 * a final status (read with GET /api/job/:id) and judges the run with
 * loadReport (load-report.ts). Typical use:
 *
 *   const report = await runLoad({ baseUrls: [api.baseUrl], perSecond: 200 }, async (load) => {
 *     await sleep(10_000);
 *     load.mark('stopping the leader');
 *     await stopLeader();
 *     await sleep(20_000);
 *     load.mark('starting it again');
 *     await startLeader();
 *     await sleep(5_000);
 *   }); // the load ran until the scenario returned
 *   expect(report.lost).toBe(0);
 */

/** Records every request relay sends it; answers 200 at once, so that a job needs exactly one delivery. */
export class DeliveryTarget {
  readonly deliveries: Delivery[] = [];
  /** Job ids seen, for the cheap part of waiting (no HTTP to relay). */
  private readonly seen = new Set<string>();
  private readonly server = new TestServer().on('/deliver', (req, res) => {
    const jobId = req.headers['relay-job-id'];
    if (typeof jobId === 'string') {
      this.deliveries.push({ jobId, attempt: Number(req.headers['relay-attempt']), at: req.at });
      this.seen.add(jobId);
    }
    res.setHeader('content-type', 'application/json');
    res.end('{"ok":true}');
  });
  async listen(): Promise<this> {
    await this.server.listen();
    return this;
  }

  get url(): string {
    return this.server.url('/deliver');
  }

  has(jobId: string): boolean {
    return this.seen.has(jobId);
  }

  close(): Promise<void> {
    return this.server.close();
  }
}

export interface LoadOptions {
  /** Backends to submit to, in turn, and to read jobs from (any of them can answer for any job). */
  baseUrls: string[];
  /** Submissions per second (200 in the scenarios). */
  perSecond: number;
  /**
   * How long to submit. Unset: until `stop()` (runLoad calls it when the
   * scenario's `during` returns), so the load lasts as long as the fault
   * does, however long a node takes to stop and start; MAX_LOAD_MS at most.
   */
  durationMs?: number;
  /**
   * Fields added to every job spec (e.g. `priority`); the target, the method
   * and the retries are set here. Retries are there for a transient failure
   * on the way to the target, which answers 200 every time.
   */
  spec?: (seq: number) => Record<string, unknown>;
  /**
   * How long to wait after the last submission for every accepted job to be
   * final before calling what is left lost.
   * @defaultValue 120_000
   */
  settleTimeoutMs?: number;
  /** Progress lines (every 1000 submissions, then what is left to settle every 5 s). */
  log?: (line: string) => void;
}

export interface LoadRun {
  /** Epoch ms of the first submission: the report's zero. */
  readonly startedAt: number;
  readonly target: DeliveryTarget;
  /** Notes what the scenario does now; shown on the report's timeline. */
  mark(label: string): void;
  /** Ends the submissions at the next slot (before `durationMs`, or when there is none). */
  stop(): void;
  /** Waits for the last answer and for the accepted jobs to settle; closes the target; judges the run. */
  finish(): Promise<LoadReport>;
}

const DEFAULT_SETTLE_MS = 120_000;
/** The longest load without `durationMs`: a scenario that never calls stop() still ends. */
export const MAX_LOAD_MS = 15 * 60_000;
/** Concurrent GET /api/job/:id while settling: enough to read 10 000 jobs in seconds, not a load test. */
const READ_CONCURRENCY = 16;
const POLL_MS = 250;
const REPORT_EVERY_MS = 5_000;

export async function startLoad(options: LoadOptions): Promise<LoadRun> {
  if (options.baseUrls.length === 0) throw new Error('startLoad: no backend');
  const log = options.log ?? (() => undefined);
  const target = await new DeliveryTarget().listen();
  const marks: { at: number; label: string }[] = [];
  const count = Math.round((options.perSecond * (options.durationMs ?? MAX_LOAD_MS)) / 1000);
  let next = 0;
  let stopped = false;
  const startedAt = Date.now();
  const submitting = submitJobs({
    baseUrl: () => options.baseUrls[next++ % options.baseUrls.length]!,
    count,
    perSecond: options.perSecond,
    stop: () => stopped,
    spec: (seq) => ({
      targetUrl: target.url,
      method: 'POST',
      payload: { seq },
      maxRetries: 5,
      retryDelay: 200,
      ...options.spec?.(seq),
    }),
    onProgress: (done) => {
      if (done % 1000 === 0) log(`  ${done} answered`);
    },
  });
  // Seen by finish(); a rejection here (none is expected: submitJobs records errors) must not go unhandled meanwhile.
  submitting.catch(() => undefined);

  let finishing: Promise<LoadReport> | undefined;
  const finish = async (): Promise<LoadReport> => {
    try {
      const raw = await submitting;
      const submissions: SubmissionRecord[] = raw.map((s) => ({
        seq: s.seq,
        sentAt: s.at,
        answeredAt: s.at + Math.round(s.ms),
        status: s.status,
        jobId: s.jobId,
        code: s.code,
      }));
      const accepted = submissions.filter((s) => s.status === 202 && s.jobId).map((s) => s.jobId!);
      log(`  ${accepted.length}/${submissions.length} accepted; waiting for them to settle`);
      const statuses = await settle(accepted, target, options, log);
      return loadReport({ startedAt, submissions, deliveries: [...target.deliveries], statuses, marks });
    } finally {
      await target.close();
    }
  };
  return {
    startedAt,
    target,
    mark: (label) => {
      marks.push({ at: Date.now(), label });
      log(`  [${((Date.now() - startedAt) / 1000).toFixed(1)} s] ${label}`);
    },
    stop: () => {
      stopped = true;
    },
    finish: () => (finishing ??= finish()),
  };
}

/**
 * Starts the load, runs `during` alongside it (the fault), and returns the
 * report. Without `durationMs` the load stops when `during` returns. A
 * failing `during` stops the load and lets it finish (no request outlives
 * the test), and is then thrown.
 */
export async function runLoad(
  options: LoadOptions,
  during: (load: LoadRun) => Promise<void> = async () => undefined,
): Promise<LoadReport> {
  const load = await startLoad(options);
  try {
    await during(load);
  } catch (err) {
    load.stop();
    await load.finish().catch(() => undefined);
    throw err;
  }
  if (options.durationMs === undefined) load.stop();
  return load.finish();
}

const FINAL: ReadonlySet<string> = new Set(FINAL_STATUSES);

/**
 * Until the deadline: first waits for the target to have seen every job
 * (costs relay nothing), then reads the jobs that are not final yet, again
 * and again. Returns the last status read per job; a job whose reads all
 * failed (the backend down, a 404) is absent, and so counted lost.
 */
async function settle(
  jobIds: string[],
  target: DeliveryTarget,
  options: LoadOptions,
  log: (line: string) => void,
): Promise<Map<string, string>> {
  const deadline = Date.now() + (options.settleTimeoutMs ?? DEFAULT_SETTLE_MS);
  const statuses = new Map<string, string>();
  let lastReport = Date.now();
  const report = (text: () => string) => {
    if (Date.now() - lastReport < REPORT_EVERY_MS) return;
    lastReport = Date.now();
    log(text());
  };
  for (;;) {
    const unseen = jobIds.filter((id) => !target.has(id)).length;
    if (unseen === 0 || Date.now() > deadline) break;
    report(() => `  ${unseen} accepted jobs not yet seen by the target`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  const clients = options.baseUrls.map((url) => new RelayClient(url));
  let round = 0;
  const open = () => jobIds.filter((id) => !FINAL.has(statuses.get(id) ?? ''));
  for (let left = open(); left.length > 0; left = open()) {
    // Each round asks another backend: one that died in the scenario does not make every read fail.
    const client = clients[round++ % clients.length]!;
    await forEachLimited(left, READ_CONCURRENCY, async (id) => {
      const res = await client.job(id).catch(() => null);
      if (res?.status === 200 && typeof res.body?.status === 'string') statuses.set(id, res.body.status as string);
    });
    if (Date.now() > deadline) break;
    report(() => `  ${open().length} accepted jobs not final yet`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  return statuses;
}

async function forEachLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let i = 0;
  const lane = async () => {
    while (i < items.length) await fn(items[i++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}
