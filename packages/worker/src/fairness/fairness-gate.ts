import type { Logger, WorkMessage } from '@relay/common';
import {
  admit,
  nextSlotTimeMs,
  waitsLocally,
  type DeferralReason,
  type FairnessCaps,
  type LocalWaitOutcome,
} from './admission.js';

/**
 * Caps on the messages one worker handles at once per destination host and
 * per application, so that one slow destination or one busy application
 * cannot take every slot (prefetch) of the worker.
 *
 * The counts live in this process: no Redis round trip on the hot path, no
 * lease left behind by a worker that dies, and the resource they share out
 * is this worker's own slots. The caps are therefore per worker: N workers
 * let a host have up to N x HOST_CONCURRENCY requests in flight.
 *
 * A message held back is put back on the broker (the delay tiers) with a
 * short, growing, jittered delay and the same attempt number, and acked: it
 * holds no slot while it waits, never calls its target, and spends no retry.
 * Except when its host is fast (admission.ts, waitsLocally): then it waits
 * here, in its host's line, for the next of the host's slots to end, which
 * is handed straight to it. A waiter that is not served within
 * LOCAL_WAIT_TIMEOUT_FACTOR times the longest expected wait (the host became
 * slow) is put back on the broker after all.
 */

/** A local waiter gives up after this many times HOST_LOCAL_WAIT_MS. */
export const LOCAL_WAIT_TIMEOUT_FACTOR = 4;

/**
 * Slot times kept per host before those of hosts with nothing in flight are
 * dropped: a worker serving many origins must not keep one entry for every
 * origin it ever called. A dropped host is measured again by its next run.
 */
export const SLOT_TIMES_KEPT = 10_000;

interface Waiter {
  /** Hands the waiter a slot of its host (the host's count already includes it). */
  grant(): void;
}

/** What a held-back message is put back through. */
export interface DeferralScheduler {
  schedule(message: WorkMessage): Promise<void>;
}

export interface FairnessGateOptions {
  caps: FairnessCaps;
  scheduler: DeferralScheduler;
  now: () => number;
  random: () => number;
  /** Counts a deferral (relay_fairness_deferrals_total). */
  onDefer?: (reason: DeferralReason) => void;
  /**
   * HOST_LOCAL_WAIT_MS: the longest expected wait for a host slot that a
   * message over its host's cap spends here rather than on the delay queues.
   * @defaultValue 0 (never: every message over a cap is put back)
   */
  localWaitMaxMs?: number;
  /** Counts a message that waited here for a host slot, and whether it got one (relay_fairness_local_waits_total). */
  onLocalWait?: (outcome: LocalWaitOutcome) => void;
}

/**
 * The host a message's request goes to: the origin (scheme, host, port) of
 * its target URL, or of its callback URL for a callback delivery. Origins,
 * not host names, because the HTTP client pools connections per origin.
 */
export function hostOf(message: WorkMessage): string {
  const url = message.kind === 'attempt' ? message.spec.targetUrl : message.callbackUrl;
  try {
    return new URL(url).origin;
  } catch {
    return url;
  }
}

export class FairnessGate {
  private readonly hosts = new Map<string, number>();
  private readonly applications = new Map<string, number>();
  /** Per host, the running average of how long its runs held a slot (ms). */
  private readonly slotTimeMs = new Map<string, number>();
  /** Per host, the start times of its runs in flight, oldest first. */
  private readonly runStarts = new Map<string, number[]>();
  /** Per host, the messages waiting here for one of its slots, first come first served. */
  private readonly waiters = new Map<string, Waiter[]>();

  constructor(private readonly options: FairnessGateOptions) {}

  /**
   * Runs `run` when the message's host and application are under their
   * caps, holding one unit of each until it settles; over a fast host's cap
   * it first waits here for one of the host's slots (waitsHere); otherwise
   * it puts the message back for later and resolves once the broker has it
   * (the caller then acks). The message `run` gets no longer carries its deferral count,
   * so the retries it schedules start afresh.
   */
  async run(message: WorkMessage, log: Logger, run: (message: WorkMessage) => Promise<void>): Promise<void> {
    const host = hostOf(message);
    const application = message.application;
    const deferrals = message.fairnessDeferrals ?? 0;
    const admitNow = (hostCount: number) =>
      admit(
        { host: hostCount, application: this.applications.get(application) ?? 0 },
        this.options.caps,
        deferrals,
        this.options.random(),
        this.hostBusyMs(host),
      );
    let admission = admitNow(this.hosts.get(host) ?? 0);
    // True once a finished run of the host handed its slot to this message.
    let holdsHost = false;
    if (admission.kind === 'defer' && admission.reason === 'host' && this.waitsHere(host)) {
      holdsHost = await this.waitForHostSlot(host);
      this.options.onLocalWait?.(holdsHost ? 'started' : 'timed_out');
      // With the slot in hand only the application's cap is left to pass.
      admission = admitNow(holdsHost ? 0 : (this.hosts.get(host) ?? 0));
    }
    if (admission.kind === 'defer') {
      if (holdsHost) this.releaseHost(host);
      this.options.onDefer?.(admission.reason);
      log.debug({ host, reason: admission.reason, delayMs: admission.delayMs, deferrals }, 'at fairness cap; deferred');
      await this.options.scheduler.schedule({
        ...message,
        dueAt: this.options.now() + admission.delayMs,
        fairnessDeferrals: deferrals + 1,
      });
      return;
    }
    // Taken in the same tick as the admission, so that no other message sees the old counts.
    if (!holdsHost) increment(this.hosts, host, 1);
    increment(this.applications, application, 1);
    const startedAt = this.options.now();
    const starts = this.runStarts.get(host) ?? [];
    this.runStarts.set(host, starts);
    starts.push(startedAt);
    try {
      const { fairnessDeferrals: _, ...fresh } = message;
      await run(fresh as WorkMessage);
    } finally {
      const at = starts.indexOf(startedAt);
      if (at >= 0) starts.splice(at, 1);
      if (starts.length === 0 && this.runStarts.get(host) === starts) this.runStarts.delete(host);
      this.rememberSlotTime(host, this.options.now() - startedAt);
      this.releaseHost(host);
      increment(this.applications, application, -1);
    }
  }

  /** How long the oldest run of `host` in flight has been running (0 when none). */
  private hostBusyMs(host: string): number {
    const oldest = this.runStarts.get(host)?.[0];
    return oldest === undefined ? 0 : this.options.now() - oldest;
  }

  private rememberSlotTime(host: string, ms: number): void {
    this.slotTimeMs.set(host, nextSlotTimeMs(this.slotTimeMs.get(host), ms));
    if (this.slotTimeMs.size <= SLOT_TIMES_KEPT) return;
    for (const known of this.slotTimeMs.keys()) if (!this.hosts.has(known)) this.slotTimeMs.delete(known);
  }

  /** Hosts whose slot time this gate keeps (tests and diagnostics). */
  get measuredHosts(): number {
    return this.slotTimeMs.size;
  }

  /**
   * Whether a message over `host`'s cap waits here now (admission.ts,
   * waitsLocally). A host none of whose runs has ended yet is judged by how
   * long its oldest run in flight has been going: a lower bound of its slot
   * time. Without it, every message of a new fast host that comes in before
   * its first run ends is put back (54 of 100 jobs in one CI run of
   * e2e/fairness.test.ts); a host that turns out slow costs its first
   * waiters one local wait timeout, and its next messages see the age.
   */
  private waitsHere(host: string): boolean {
    return waitsLocally({
      slotTimeMs: this.slotTimeMs.get(host) ?? this.hostBusyMs(host),
      waiting: this.waiters.get(host)?.length ?? 0,
      hostCap: this.options.caps.host,
      maxWaitMs: this.options.localWaitMaxMs ?? 0,
    });
  }

  /**
   * Joins `host`'s line. Resolves true when a run of the host ended and
   * handed this message its slot, false when the wait timed out (the message
   * then holds nothing).
   */
  private waitForHostSlot(host: string): Promise<boolean> {
    return new Promise((resolve) => {
      const line = this.waiters.get(host) ?? [];
      this.waiters.set(host, line);
      const timer = setTimeout(
        () => {
          const i = line.indexOf(waiter);
          if (i >= 0) line.splice(i, 1);
          if (line.length === 0 && this.waiters.get(host) === line) this.waiters.delete(host);
          resolve(false);
        },
        (this.options.localWaitMaxMs ?? 0) * LOCAL_WAIT_TIMEOUT_FACTOR,
      );
      const waiter: Waiter = {
        grant: () => {
          clearTimeout(timer);
          resolve(true);
        },
      };
      line.push(waiter);
    });
  }

  /** Gives up a slot of `host`: to the first message waiting in its line, or back to the count. */
  private releaseHost(host: string): void {
    const line = this.waiters.get(host);
    const next = line?.shift();
    if (line && line.length === 0) this.waiters.delete(host);
    if (next) next.grant();
    else increment(this.hosts, host, -1);
  }

  /** Messages waiting here for a slot of `host` (tests and diagnostics). */
  hostWaiting(host: string): number {
    return this.waiters.get(host)?.length ?? 0;
  }

  /** Messages in flight for `host` (tests and diagnostics). */
  hostInFlight(host: string): number {
    return this.hosts.get(host) ?? 0;
  }

  /** Messages in flight for `application` (tests and diagnostics). */
  applicationInFlight(application: string): number {
    return this.applications.get(application) ?? 0;
  }
}

/** Adds `by` to `key`'s count, removing the key at zero so the map holds only what is in flight. */
function increment(counts: Map<string, number>, key: string, by: number): void {
  const next = (counts.get(key) ?? 0) + by;
  if (next <= 0) counts.delete(key);
  else counts.set(key, next);
}
