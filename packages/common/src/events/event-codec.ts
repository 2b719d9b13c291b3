import type { Options } from 'amqplib';
import { Compile } from 'typebox/compile';
import { EVENTS_LEVEL, LEVEL_HEADER } from '../keys/queues.js';
import { parseMessageJson } from '../messages/codec.js';
import { EventMessageSchema, type EventMessage } from './event-message.js';

/**
 * AMQP properties of an event message: LEVEL_HEADER = EVENTS_LEVEL, so that
 * on a quorum topology a delay tier returns it to the events queue.
 */
export function eventMessageProperties(message: EventMessage): Options.Publish {
  return {
    messageId: message.destinations[0]!.webhookId,
    headers: { [LEVEL_HEADER]: EVENTS_LEVEL },
  };
}

export function encodeEventMessage(message: EventMessage): Buffer {
  return Buffer.from(JSON.stringify(message));
}

const eventMessage = Compile(EventMessageSchema);

/** Parses an event message, or null when it is not one (as decodeMessage does for work messages). */
export function decodeEventMessage(content: Buffer): EventMessage | null {
  const value = parseMessageJson(content);
  return value !== undefined && eventMessage.Check(value) ? (value as EventMessage) : null;
}
