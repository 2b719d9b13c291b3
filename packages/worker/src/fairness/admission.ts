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
 * from DEFERRAL_BASE_MS by DEFERRAL_GROWTH up to DEFERRAL_MAX_MS, then a random point in its
 * upper half, so that messages held back together do not all come back in
 * the same instant. `random` is in [0, 1).
 */
export function deferralDelayMs(deferrals: number, random: number): number {
  const n = Number.isInteger(deferrals) && deferrals > 0 ? deferrals : 0;
  // A few rounds reach the maximum: stop growing at 16, so a huge count cannot overflow.
  const ceiling = Math.min(DEFERRAL_MAX_MS, DEFERRAL_BASE_MS * DEFERRAL_GROWTH ** Math.min(n, 16));
  return Math.round(ceiling / 2 + (ceiling / 2) * Math.min(Math.max(random, 0), 1));
}

/**
 * Whether a message may start now. It may when both its host and its
 * application have fewer messages in flight than their caps. The host is
 * checked first: a slow destination is the usual cause, and it is the one
 * the operator can act on.
 */
export function admit(inFlight: InFlight, caps: FairnessCaps, deferrals: number, random: number): Admission {
  if (inFlight.host >= caps.host) return { kind: 'defer', reason: 'host', delayMs: deferralDelayMs(deferrals, random) };
  if (inFlight.application >= caps.application) {
    return { kind: 'defer', reason: 'application', delayMs: deferralDelayMs(deferrals, random) };
  }
  return { kind: 'start' };
}
