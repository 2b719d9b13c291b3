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
 * RabbitMQ priority of each job priority on the classic work queue. A small
 * range on purpose: RabbitMQ keeps one sub-queue per level, so few levels
 * cost least.
 */
export const MAX_PRIORITY = 3;
export const PRIORITY_LEVELS = { high: 3, normal: 2, low: 1 } as const;
export type PriorityLevel = keyof typeof PRIORITY_LEVELS;
/** Highest first: the order the worker considers the work queues of a quorum topology in. */
export const PRIORITY_ORDER: readonly PriorityLevel[] = ['high', 'normal', 'low'];

/**
 * The header that names a message's priority level. On a quorum topology the
 * delay tiers dead-letter into a headers exchange that routes on it to the
 * work queue of that level (quorum queues have no x-max-priority). Not `x-`:
 * a headers exchange ignores `x-` headers when it matches (`x-match: all`),
 * so a binding on one would match every message.
 */
export const LEVEL_HEADER = 'relay-level';
/** LEVEL_HEADER of an event message: the due exchange routes it to the events queue. */
export const EVENTS_LEVEL = 'events';

/**
 * RELAY_QUEUE_TYPE. `quorum` (the default) replicates every queue over the
 * cluster's nodes (Raft) and dead-letters the delay tiers at-least-once;
 * `classic` is the single-node layout of earlier versions.
 */
export const QUEUE_TYPES = ['quorum', 'classic'] as const;
export type QueueType = (typeof QUEUE_TYPES)[number];
export const DEFAULT_QUEUE_TYPE: QueueType = 'quorum';

/** A work queue and the priority level it holds (every level, on a classic topology). */
export interface WorkQueue {
  queue: string;
  /** The level whose messages this queue holds; null: all levels (classic, by x-max-priority). */
  level: PriorityLevel | null;
}

export interface QueueNames {
  type: QueueType;
  /**
   * Work queue of normal-priority messages (callbacks included): on a
   * classic topology the one work queue of every level.
   */
  work: string;
  /** The work queue messages of `level` are published to. */
  workFor(level: PriorityLevel): string;
  /** Every work queue, highest level first (one on a classic topology). */
  workQueues: readonly WorkQueue[];
  /**
   * Quorum only: the headers exchange the delay tiers dead-letter into, which
   * routes on LEVEL_HEADER to the level's work queue. Null on classic, whose
   * delay tiers dead-letter through the default exchange to `work`.
   */
  dueExchange: string | null;
  /** Fanout exchange that failed jobs (and undecodable messages) are dead-lettered to. */
  deadLetterExchange: string;
  /** Durable queue bound to the dead-letter exchange: the archive of dead letters. */
  deadLetters: string;
  /**
   * The events queue: lifecycle events to deliver to webhooks and
   * subscriptions (events/event-message.ts), consumed on its own channel with
   * its own prefetch so that event deliveries never take a slot from target
   * attempts. Its retries wait in the delay tiers: on quorum they come back
   * through the due exchange (LEVEL_HEADER = EVENTS_LEVEL); on classic the
   * tiers return every message to `work`, and the worker forwards events
   * from there.
   */
  events: string;
  /** The delay queue of one tier. */
  delay(tierMs: number): string;
  /** Every delay tier's queue name (for clean-up). */
  allDelay(): string[];
  /** Every queue of this topology (for clean-up and checks). */
  allQueues(): string[];
}

/**
 * Names of relay's queues and exchanges for `prefix` and queue type. The two
 * types never share a name (quorum names carry a `.q` segment): RabbitMQ
 * refuses to redeclare a queue with other arguments, so a deployment that
 * switches type declares new queues beside the old ones instead of failing
 * (migration: docs/operations.md). Classic names are those of earlier
 * versions, so an existing classic deployment keeps its queues.
 */
export function queueNames(prefix: string, type: QueueType = DEFAULT_QUEUE_TYPE): QueueNames {
  const base = type === 'quorum' ? `${prefix}.q` : prefix;
  const delay = (tierMs: number) => `${base}.delay.${tierMs}ms`;
  const allDelay = () => DELAY_TIERS_MS.map(delay);
  const workFor = (level: PriorityLevel) => (type === 'quorum' ? `${base}.work.${level}` : `${base}.work`);
  const workQueues: WorkQueue[] =
    type === 'quorum'
      ? PRIORITY_ORDER.map((level) => ({ queue: workFor(level), level }))
      : [{ queue: workFor('normal'), level: null }];
  const deadLetters = `${base}.dead-letters`;
  return {
    type,
    work: workFor('normal'),
    workFor,
    workQueues,
    dueExchange: type === 'quorum' ? `${base}.due` : null,
    deadLetterExchange: `${base}.dead-letter`,
    deadLetters,
    events: `${base}.events`,
    delay,
    allDelay,
    allQueues: () => [...workQueues.map((w) => w.queue), deadLetters, `${base}.events`, ...allDelay()],
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
