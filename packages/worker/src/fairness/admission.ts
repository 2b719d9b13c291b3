/**
 * Pure fairness decisions: whether a message may start given how many
 * messages of its destination host and of its application this worker is
 * handling, and how long it waits when it may not. No clock, no randomness,
 * no I/O of their own, so every branch is unit-tested exactly.
 */

/** Caps on messages in flight in one worker process (HOST_CONCURRENCY, APPLICATION_CONCURRENCY). */
export interface FairnessCaps {
  host: number;
  application: number;
}

/** Messages this worker is handling now for the message's host and for its application. */
export interface InFlight {
  host: number;
  application: number;
}

/** Which cap held a message back: the `reason` label of relay_fairness_deferrals_total. */
export type DeferralReason = 'host' | 'application';

export const DEFERRAL_REASONS: readonly DeferralReason[] = ['host', 'application'];

/** How a wait in the worker for a host slot ended: the `outcome` label of relay_fairness_local_waits_total. */
export const LOCAL_WAIT_OUTCOMES = ['started', 'timed_out'] as const;
export type LocalWaitOutcome = (typeof LOCAL_WAIT_OUTCOMES)[number];

export type Admission = { kind: 'start' } | { kind: 'defer'; reason: DeferralReason; delayMs: number };

/**
 * First wait of a held-back message. Short, so that a slot freed by a fast
 * target is taken again soon; the delay tiers go down to 10 ms.
 */
export const DEFERRAL_BASE_MS = 250;

/**
 * Growth of the wait per deferral. Fourfold rather than doubling: a host at
 * its cap is usually slow for a while, and every deferral is a publish and an
 * ack that other tenants' messages queue behind, so the held-back messages of
 * a flood should reach the long waits within a few rounds.
 */
export const DEFERRAL_GROWTH = 4;

/**
 * Longest wait of a held-back message. A host at its cap is typically slow
 * (its attempts run up to the 60 s timeout), so waiting longer saves broker
 * round trips; waiting much longer would leave its freed slots idle.
 */
export const DEFERRAL_MAX_MS = 10_000;

/**
 * How long a message held back `deferrals` times before waits now: growing
 * from DEFERRAL_BASE_MS by DEFERRAL_GROWTH up to `maxMs` (DEFERRAL_MAX_MS),
 * then a random point in its upper half, so that messages held back together
 * do not all come back in the same instant. `random` is in [0, 1).
 */
export function deferralDelayMs(deferrals: number, random: number, maxMs = DEFERRAL_MAX_MS): number {
  const n = Number.isInteger(deferrals) && deferrals > 0 ? deferrals : 0;
  // A few rounds reach the maximum: stop growing at 16, so a huge count cannot overflow.
  const ceiling = Math.min(maxMs, DEFERRAL_BASE_MS * DEFERRAL_GROWTH ** Math.min(n, 16));
  return Math.round(ceiling / 2 + (ceiling / 2) * Math.min(Math.max(random, 0), 1));
}

/**
 * A host at its cap whose oldest message in flight has run this long is
 * slow: its held-back messages skip the short first waits. Well above
 * HOST_LOCAL_WAIT_MS's default: a host this slow is not one whose messages
 * wait in the worker.
 */
export const SLOW_HOST_BUSY_MS = 500;

/**
 * How many rounds ahead in the schedule a slow host's held-back message
 * waits: its first wait is then 2-4 s rather than 125-250 ms, its second
 * 5-10 s. A fast host's messages wait in the worker (waitsLocally), so a
 * put-back is mostly for a slow host; the short waits are for a host whose
 * first runs are still young, and for a message the local wait timed out. On a slow host they were
 * put-backs in bursts (each message twice within its first second, a
 * publish and an ack each) that other tenants' messages queued behind: 600
 * jobs to a 30 s target made 3,400-4,800 put-backs, and 2,700 with this.
 */
export const SLOW_HOST_SKIPPED_ROUNDS = 2;

/**
 * Longest wait of a slow host's held-back message. Below it, the longest
 * wait is as long as the host's oldest message in flight has been running
 * (at least DEFERRAL_MAX_MS): a host whose runs take that long frees a slot
 * about that rarely, so coming back sooner is a put-back (a publish, an ack
 * and a dead-letter hop) that finds the host still full. 600 messages held
 * back from a 30 s host came back every 5-10 s, ~75 put-backs a second for
 * the one or two slots a second it freed. Bounded, so that a message whose
 * host got faster is not held back long for nothing.
 */
export const SLOW_HOST_DEFERRAL_MAX_MS = 30_000;

/** The longest wait of a message held back by a host whose oldest message in flight has run `hostBusyMs`. */
export function hostDeferralMaxMs(hostBusyMs: number): number {
  if (!(hostBusyMs >= SLOW_HOST_BUSY_MS)) return DEFERRAL_MAX_MS;
  return Math.min(SLOW_HOST_DEFERRAL_MAX_MS, Math.max(DEFERRAL_MAX_MS, Math.round(hostBusyMs)));
}

/**
 * Whether a message may start now. It may when both its host and its
 * application have fewer messages in flight than their caps. The host is
 * checked first: a slow destination is the usual cause, and it is the one
 * the operator can act on. `hostBusyMs` is how long the host's oldest
 * message in flight has been running (0 when none).
 */
export function admit(
  inFlight: InFlight,
  caps: FairnessCaps,
  deferrals: number,
  random: number,
  hostBusyMs = 0,
): Admission {
  if (inFlight.host >= caps.host) {
    const n = Number.isInteger(deferrals) && deferrals > 0 ? deferrals : 0;
    const waitsAs = hostBusyMs >= SLOW_HOST_BUSY_MS ? n + SLOW_HOST_SKIPPED_ROUNDS : n;
    return { kind: 'defer', reason: 'host', delayMs: deferralDelayMs(waitsAs, random, hostDeferralMaxMs(hostBusyMs)) };
  }
  if (inFlight.application >= caps.application) {
    return { kind: 'defer', reason: 'application', delayMs: deferralDelayMs(deferrals, random) };
  }
  return { kind: 'start' };
}

/**
 * Weight of the newest run in a host's running average of how long its runs
 * hold a slot: about the last ten runs count.
 */
export const SLOT_TIME_WEIGHT = 0.1;

/** The host's running average of slot time after one more run of `sampleMs` (the first run sets it). */
export function nextSlotTimeMs(previousMs: number | undefined, sampleMs: number): number {
  const sample = Number.isFinite(sampleMs) && sampleMs > 0 ? sampleMs : 0;
  return previousMs === undefined ? sample : previousMs + SLOT_TIME_WEIGHT * (sample - previousMs);
}

/** What decides whether a message over its host's cap waits for a slot in memory. */
export interface LocalWaitInput {
  /**
   * The host's running average of slot time (ms). Before any of its runs
   * ended, the caller passes the age of its oldest run in flight (a lower
   * bound); undefined is put back.
   */
  slotTimeMs: number | undefined;
  /** Messages of the host already waiting here for one of its slots. */
  waiting: number;
  /** HOST_CONCURRENCY. */
  hostCap: number;
  /** HOST_LOCAL_WAIT_MS: the longest expected wait still spent here; 0 turns local waits off. */
  maxWaitMs: number;
}

/**
 * Whether a message held back by its host's cap waits here, holding its
 * consumer slot, for the next slot of its host, rather than going back to
 * the broker's delay queues. It waits when its expected turn, (waiting + 1)
 * slot times spread over the host's `hostCap` slots, comes within
 * `maxWaitMs`.
 *
 * Why: a put-back is a confirmed publish, an ack and a dead-letter hop on
 * the broker, and when one fast host has a backlog the next message off the
 * queue is that host's again, so put-backs feed on themselves (measured on
 * one host at 800 jobs/s: 1.8 put-backs per job, RabbitMQ CPU per job 5x).
 * A fast host's slot frees within milliseconds, so waiting is cheaper than
 * any round trip. A slow host is put back as before: its messages would
 * hold slots that other hosts' messages need.
 */
export function waitsLocally(input: LocalWaitInput): boolean {
  if (!(input.maxWaitMs > 0) || input.slotTimeMs === undefined || !(input.hostCap > 0)) return false;
  return ((input.waiting + 1) * input.slotTimeMs) / input.hostCap <= input.maxWaitMs;
}
