import type { Logger, WorkMessage } from '@relay/common';
import { admit, type DeferralReason, type FairnessCaps } from './admission.js';

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
 */

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

  constructor(private readonly options: FairnessGateOptions) {}

  /**
   * Runs `run` when the message's host and application are under their
   * caps, holding one unit of each until it settles; otherwise puts the
   * message back for later and resolves once the broker has it (the caller
   * then acks). The message `run` gets no longer carries its deferral count,
   * so the retries it schedules start afresh.
   */
  async run(message: WorkMessage, log: Logger, run: (message: WorkMessage) => Promise<void>): Promise<void> {
    const host = hostOf(message);
    const application = message.application;
    const deferrals = message.fairnessDeferrals ?? 0;
    const admission = admit(
      { host: this.hosts.get(host) ?? 0, application: this.applications.get(application) ?? 0 },
      this.options.caps,
      deferrals,
      this.options.random(),
    );
    if (admission.kind === 'defer') {
      this.options.onDefer?.(admission.reason);
      log.debug({ host, reason: admission.reason, delayMs: admission.delayMs, deferrals }, 'at fairness cap; deferred');
      await this.options.scheduler.schedule({
        ...message,
        dueAt: this.options.now() + admission.delayMs,
        fairnessDeferrals: deferrals + 1,
      });
      return;
    }
    // Taken before the first await, so that no other message sees the old counts.
    increment(this.hosts, host, 1);
    increment(this.applications, application, 1);
    try {
      const { fairnessDeferrals: _, ...fresh } = message;
      await run(fresh as WorkMessage);
    } finally {
      increment(this.hosts, host, -1);
      increment(this.applications, application, -1);
    }
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
