import type { Channel } from 'amqplib';
import { DELAY_TIERS_MS, MAX_PRIORITY, queueNames } from '../keys/queues.js';

/**
 * Declares relay's RabbitMQ topology (idempotent). Every process that uses a
 * queue declares it with these same arguments: RabbitMQ refuses a declaration
 * whose arguments differ from the existing queue's.
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
}

/** The work queue (and the dead-letter exchange it rejects into). Used by the backend and the worker. */
export async function declareWorkQueue(channel: Channel, prefix: string, options: TopologyOptions = {}): Promise<void> {
  const q = queueNames(prefix);
  const maxBytes = options.deadLetterMaxBytes ?? 0;
  await channel.assertExchange(q.deadLetterExchange, 'fanout', { durable: true });
  await channel.assertQueue(q.deadLetters, {
    durable: true,
    arguments: {
      'x-message-ttl': DEAD_LETTER_RETENTION_MS,
      'x-max-length': DEAD_LETTER_MAX_MESSAGES,
      'x-overflow': 'drop-head',
      ...(maxBytes > 0 ? { 'x-max-length-bytes': maxBytes } : {}),
    },
  });
  await channel.bindQueue(q.deadLetters, q.deadLetterExchange, '');
  await channel.assertQueue(q.work, {
    durable: true,
    arguments: {
      'x-max-priority': MAX_PRIORITY,
      // Messages the worker rejects (undecodable) end in the archive, not lost.
      'x-dead-letter-exchange': q.deadLetterExchange,
    },
  });
}

/** Everything the worker uses: the work queue plus every delay tier. */
export async function declareTopology(channel: Channel, prefix: string, options: TopologyOptions = {}): Promise<void> {
  const q = queueNames(prefix);
  await declareWorkQueue(channel, prefix, options);
  await Promise.all(
    DELAY_TIERS_MS.map((ms) =>
      channel.assertQueue(q.delay(ms), {
        durable: true,
        arguments: {
          'x-message-ttl': ms,
          'x-dead-letter-exchange': '',
          'x-dead-letter-routing-key': q.work,
        },
      }),
    ),
  );
}
