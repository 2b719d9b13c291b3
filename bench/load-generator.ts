/**
 * The load generator: submits jobs over a keep-alive undici Pool, either at a
 * fixed rate (open loop) or from a fixed number of clients that each wait for
 * their answer (closed loop), and records per job when it was due, when its
 * 202 came back and when its callback arrived.
 *
 * Open loop means the schedule is the clock's, not the system's: job i is due
 * at t0 + i / rate whether or not earlier jobs were answered, and its latency
 * is counted from that due time. A slow system therefore cannot hide its
 * latency by slowing the sender down (no coordinated omission).
 */
import { Pool } from 'undici';

/** One measured series of jobs; the callback receiver fills in `calledBack`. */
export class Batch {
  /** performance.now() (ms) when each job was due to be submitted. */
  readonly dueAt: number[] = [];
  /** When its 202 arrived; NaN until then, or if it was refused. */
  readonly acceptedAt: number[] = [];
  /** When its callback arrived; NaN until then. */
  readonly calledBackAt: number[] = [];
  /** `attempts` reported by the callback (1 = succeeded or failed at the first call). */
  readonly attempts: number[] = [];
  /** How late the sender actually sent each job (ms): the generator's own health. */
  readonly sendLateness: number[] = [];
  sent = 0;
  accepted = 0;
  refused = 0;
  callbacks = 0;
  duplicateCallbacks = 0;
  firstRefusal: string | null = null;

  constructor(
    readonly id: number,
    readonly label: string,
  ) {}

  /** Submitted (due) jobs whose callback has not arrived, refused ones excepted. */
  get outstanding(): number {
    return Math.max(0, this.sent - this.refused - this.callbacks);
  }

  /** Every submit answered and every accepted job called back. */
  get settled(): boolean {
    return this.accepted + this.refused === this.sent && this.callbacks >= this.accepted;
  }

  /** Reserves the next sequence number. */
  add(dueAt: number, sentAt: number): number {
    const seq = this.sent++;
    this.dueAt.push(dueAt);
    this.acceptedAt.push(Number.NaN);
    this.calledBackAt.push(Number.NaN);
    this.attempts.push(0);
    this.sendLateness.push(sentAt - dueAt);
    return seq;
  }

  refuse(reason: string): void {
    this.refused++;
    this.firstRefusal ??= reason;
  }

  /** Submit-to-callback latencies (ms) from the due time, optionally only jobs matching `filter`. */
  latencies(filter: (seq: number) => boolean = () => true): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.sent; i++) {
      const at = this.calledBackAt[i]!;
      if (!Number.isNaN(at) && filter(i)) out.push(at - this.dueAt[i]!);
    }
    return out;
  }
}

/** Where and what to submit. */
export interface Submitter {
  pool: Pool;
  /** Path of the submit route on the pool's origin: `/api/jobs` (relay) or `/jobs` (bare). */
  path: string;
  /** The JSON body of job `seq` of `batch` (its callback URL identifies it). */
  body(batch: Batch, seq: number): string;
}

const JSON_HEADERS = { 'content-type': 'application/json' };

/** A keep-alive pool to one origin. */
export function submitPool(origin: string, connections: number): Pool {
  return new Pool(origin, { connections, keepAliveTimeout: 30_000, pipelining: 1 });
}

/** Submits one job and records the answer; resolves when the answer is in. */
async function submit(sub: Submitter, batch: Batch, dueAt: number): Promise<boolean> {
  const seq = batch.add(dueAt, performance.now());
  try {
    const res = await sub.pool.request({
      path: sub.path,
      method: 'POST',
      headers: JSON_HEADERS,
      body: sub.body(batch, seq),
    });
    const at = performance.now();
    await res.body.dump();
    if (res.statusCode === 202) {
      batch.acceptedAt[seq] = at;
      batch.accepted++;
      return true;
    }
    batch.refuse(`HTTP ${res.statusCode}`);
  } catch (err) {
    batch.refuse((err as Error).message);
  }
  return false;
}

/**
 * Submits `rate` jobs per second for `durationMs`, each at its own due time.
 * Resolves when the last one has been sent (not answered). Timers fire at
 * best every millisecond or so; jobs that fell due meanwhile are sent
 * together, still counted from their due time.
 */
export function openLoop(sub: Submitter, batch: Batch, rate: number, durationMs: number): Promise<void> {
  const total = Math.round((rate * durationMs) / 1000);
  const interval = 1000 / rate;
  const t0 = performance.now();
  let i = 0;
  return new Promise((resolve) => {
    const tick = () => {
      const now = performance.now();
      while (i < total && t0 + i * interval <= now) {
        void submit(sub, batch, t0 + i * interval);
        i++;
      }
      if (i >= total) resolve();
      else setTimeout(tick, Math.max(0, t0 + i * interval - performance.now()));
    };
    tick();
  });
}

/**
 * `clients` concurrent clients, each submitting its next job as soon as the
 * previous one is answered, for `durationMs`. Returns the 202s that arrived
 * within the window.
 */
export async function closedLoop(
  sub: Submitter,
  batch: Batch,
  clients: number,
  durationMs: number,
): Promise<{ acceptedInWindow: number; seconds: number }> {
  const t0 = performance.now();
  const deadline = t0 + durationMs;
  let acceptedInWindow = 0;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < deadline) {
        const now = performance.now();
        const ok = await submit(sub, batch, now);
        if (ok && performance.now() <= deadline) acceptedInWindow++;
      }
    }),
  );
  return { acceptedInWindow, seconds: durationMs / 1000 };
}

/**
 * `clients` concurrent clients submitting `jobs` jobs in all, each its next
 * as soon as the previous one is answered. Resolves when the last 202 is in,
 * with the performance.now() the first submit went out.
 */
export async function closedLoopJobs(
  sub: Submitter,
  batch: Batch,
  clients: number,
  jobs: number,
): Promise<{ startedAt: number; lastAcceptedAt: number }> {
  const startedAt = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < jobs) {
        next++;
        await submit(sub, batch, performance.now());
      }
    }),
  );
  const last = batch.acceptedAt.reduce((a, b) => (Number.isNaN(b) ? a : Math.max(a, b)), -Infinity);
  return { startedAt, lastAcceptedAt: Number.isFinite(last) ? last : Number.NaN };
}

/** Waits until every job of `batch` is answered and called back; returns how long that took (ms), or NaN on timeout. */
export async function settled(batch: Batch, timeoutMs: number): Promise<number> {
  const t0 = performance.now();
  while (!batch.settled) {
    if (performance.now() - t0 > timeoutMs) return Number.NaN;
    await new Promise((r) => setTimeout(r, 10));
  }
  return performance.now() - t0;
}
