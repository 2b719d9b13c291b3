import type { Channel } from 'amqplib';
import {
  DEFAULT_QUEUE_TYPE,
  DELAY_TIERS_MS,
  EVENTS_LEVEL,
  LEVEL_HEADER,
  MAX_PRIORITY,
  queueNames,
  type QueueNames,
  type QueueType,
} from '../keys/queues.js';

/**
 * Declares relay's RabbitMQ topology (idempotent). Every process that uses a
 * queue declares it with these same arguments: RabbitMQ refuses a declaration
 * whose arguments differ from the existing queue's.
 *
 * Two layouts (RELAY_QUEUE_TYPE, names in keys/queues.ts):
 * - quorum: every queue replicated over the cluster. Quorum queues have no
 *   x-max-priority, so there is one work queue per priority level (the worker
 *   weighs them, consumer/priority-picker.ts). Dead-lettering is at-least-once
 *   (the broker keeps a message in its source queue until the target queue
 *   confirmed it), which needs `x-overflow: reject-publish`; a delay tier
 *   dead-letters into a headers exchange that routes on the level header.
 * - classic: one work queue with x-max-priority, delay tiers dead-lettering
 *   through the default exchange, at-most-once (a node failure between the
 *   expiry and the enqueue loses the message).
 */

/** How long the dead-letter archive keeps a message, and how many it keeps at most. */
export const DEAD_LETTER_RETENTION_MS = 7 * 86_400_000;
export const DEAD_LETTER_MAX_MESSAGES = 1_000_000;

/** Settings of the topology that an operator may change (both processes must pass the same). */
export interface TopologyOptions {
  /**
   * DEAD_LETTER_MAX_BYTES: `x-max-length-bytes` of the archive; 0 leaves the
   * argument out. RabbitMQ refuses to redeclare a queue with other arguments,
   * so an existing archive keeps its arguments until it is migrated (or a
   * policy caps it instead: docs/operations.md). @defaultValue 0
   */
  deadLetterMaxBytes?: number;
  /** RELAY_QUEUE_TYPE. @defaultValue 'quorum' */
  queueType?: QueueType;
}

/** Arguments every queue of a quorum topology that dead-letters gets. */
const AT_LEAST_ONCE = {
  'x-queue-type': 'quorum',
  'x-dead-letter-strategy': 'at-least-once',
  // at-least-once dead-lettering is refused with any other overflow: a full
  // queue would otherwise have to drop what it still owes its target.
  'x-overflow': 'reject-publish',
} as const;

/** The arguments of each queue, by type: what declareTopology asserts (and tests compare). */
export function queueArguments(q: QueueNames, options: TopologyOptions = {}) {
  const quorum = q.type === 'quorum';
  const maxBytes = options.deadLetterMaxBytes ?? 0;
  return {
    deadLetters: {
      ...(quorum ? { 'x-queue-type': 'quorum' } : {}),
      'x-message-ttl': DEAD_LETTER_RETENTION_MS,
      'x-max-length': DEAD_LETTER_MAX_MESSAGES,
      'x-overflow': 'drop-head',
      ...(maxBytes > 0 ? { 'x-max-length-bytes': maxBytes } : {}),
    },
    work: quorum
      ? { ...AT_LEAST_ONCE, 'x-dead-letter-exchange': q.deadLetterExchange }
      : {
          'x-max-priority': MAX_PRIORITY,
          // Messages the worker rejects (undecodable) end in the archive, not lost.
          'x-dead-letter-exchange': q.deadLetterExchange,
        },
    // No dead-letter exchange: the archive is the jobs' (GET /api/dead-letters);
    // an event the worker gives up on is recorded in its delivery log instead.
    events: quorum ? { ...AT_LEAST_ONCE } : {},
    delay: (ms: number) =>
      quorum
        ? { ...AT_LEAST_ONCE, 'x-message-ttl': ms, 'x-dead-letter-exchange': q.dueExchange! }
        : { 'x-message-ttl': ms, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': q.work },
  };
}

/**
 * The work queues and the events queue (and the exchanges they are reached
 * through). Used by the backend and the worker.
 */
export async function declareWorkQueue(channel: Channel, prefix: string, options: TopologyOptions = {}): Promise<void> {
  const q = queueNames(prefix, options.queueType ?? DEFAULT_QUEUE_TYPE);
  const args = queueArguments(q, options);
  await channel.assertExchange(q.deadLetterExchange, 'fanout', { durable: true });
  await channel.assertQueue(q.deadLetters, { durable: true, arguments: args.deadLetters });
  await channel.bindQueue(q.deadLetters, q.deadLetterExchange, '');
  if (q.dueExchange) await channel.assertExchange(q.dueExchange, 'headers', { durable: true });
  for (const { queue, level } of q.workQueues) {
    await channel.assertQueue(queue, { durable: true, arguments: args.work });
    if (q.dueExchange && level) {
      await channel.bindQueue(queue, q.dueExchange, '', { 'x-match': 'all', [LEVEL_HEADER]: level });
    }
  }
  await channel.assertQueue(q.events, { durable: true, arguments: args.events });
  // A retried event waits in a delay tier and comes back here by its level header.
  if (q.dueExchange) {
    await channel.bindQueue(q.events, q.dueExchange, '', { 'x-match': 'all', [LEVEL_HEADER]: EVENTS_LEVEL });
  }
}

/** Everything the worker uses: the work queues plus every delay tier. */
export async function declareTopology(channel: Channel, prefix: string, options: TopologyOptions = {}): Promise<void> {
  const q = queueNames(prefix, options.queueType ?? DEFAULT_QUEUE_TYPE);
  const args = queueArguments(q, options);
  await declareWorkQueue(channel, prefix, options);
  await Promise.all(
    DELAY_TIERS_MS.map((ms) => channel.assertQueue(q.delay(ms), { durable: true, arguments: args.delay(ms) })),
  );
}
