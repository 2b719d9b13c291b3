import type { AmqpHandle } from '../amqp/amqp-handle.js';
import type { QueueNames } from '../keys/queues.js';
import { encodeEventMessage, eventMessageProperties } from './event-codec.js';
import type { EventMessage } from './event-message.js';

/**
 * Publishes an event message straight onto the events queue (confirmed,
 * mandatory): the first delivery of a new event. Retries go through the
 * worker's Scheduler, which may send them through the delay tiers first.
 */
export function publishEventMessage(
  amqp: Pick<AmqpHandle, 'publish'>,
  queues: Pick<QueueNames, 'events'>,
  message: EventMessage,
  timeoutMs: number,
): Promise<void> {
  return amqp.publish(
    { queue: queues.events },
    encodeEventMessage(message),
    timeoutMs,
    eventMessageProperties(message),
  );
}
