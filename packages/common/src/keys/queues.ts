/**
 * Every RabbitMQ queue name relay uses is built here, from one configurable
 * prefix (see redis-keys.ts), with the delay tiers and priority levels the
 * queues are declared with.
 */

/**
 * Delay tiers for scheduled retries: one durable queue per tier with a fixed
 * per-queue TTL that dead-letters into the work queue. A per-queue TTL keeps
 * each tier FIFO with a constant delay, so expiry never waits behind a longer
 * message (the head-of-line problem of per-message TTLs). A delay is made of
 * hops through the largest tier that still fits; see `planDelayHop`.
 * Tiers double from 10 ms, so any delay takes at most one hop per tier.
 */
export const DELAY_TIERS_MS: readonly number[] = Array.from({ length: 19 }, (_, i) => 10 * 2 ** i);

/** Below this, a message is processed now instead of taking another hop. */
export const DELAY_TOLERANCE_MS = 10;

/**
 * RabbitMQ priority of each job priority on the work queue. A small range on
 * purpose: RabbitMQ keeps one sub-queue per level, so few levels cost least.
 */
export const MAX_PRIORITY = 3;
export const PRIORITY_LEVELS = { high: 3, normal: 2, low: 1 } as const;

export interface QueueNames {
  /** Work queue: attempts and callback deliveries that are due. */
  work: string;
  /** Fanout exchange that failed jobs (and undecodable messages) are dead-lettered to. */
  deadLetterExchange: string;
  /** Durable queue bound to the dead-letter exchange: the archive of dead letters. */
  deadLetters: string;
  /** The delay queue of one tier. */
  delay(tierMs: number): string;
  /** Every delay tier's queue name (for clean-up). */
  allDelay(): string[];
}

export function queueNames(prefix: string): QueueNames {
  const delay = (tierMs: number) => `${prefix}.delay.${tierMs}ms`;
  return {
    work: `${prefix}.work`,
    deadLetterExchange: `${prefix}.dead-letter`,
    deadLetters: `${prefix}.dead-letters`,
    delay,
    allDelay: () => DELAY_TIERS_MS.map(delay),
  };
}

/**
 * Which tier to wait in next for a message due in `remainingMs`, or null when
 * it is due now (within DELAY_TOLERANCE_MS). Pure.
 */
export function planDelayHop(remainingMs: number): number | null {
  if (remainingMs <= DELAY_TOLERANCE_MS) return null;
  let chosen = DELAY_TIERS_MS[0]!;
  for (const tier of DELAY_TIERS_MS) {
    if (tier <= remainingMs) chosen = tier;
    else break;
  }
  return chosen;
}
