import type { Options } from 'amqplib';
import { PRIORITY_LEVELS } from '../keys/queues.js';
import { MESSAGE_VERSION, type AttemptMessage, type CallbackMessage, type WorkMessage } from './types.js';

/** AMQP properties of a work message: its job's priority (callbacks go at normal priority). */
export function messageProperties(message: WorkMessage): Options.Publish {
  const level = message.kind === 'attempt' ? (message.spec.priority ?? 'normal') : 'normal';
  return { priority: PRIORITY_LEVELS[level], messageId: message.jobId };
}

export function encodeMessage(message: WorkMessage): Buffer {
  return Buffer.from(JSON.stringify(message));
}

/**
 * Parses a message, or returns null when it is not one of ours (bad JSON,
 * another version than MESSAGE_VERSION, unknown kind). Only the fields the
 * worker branches on are checked: the rest was validated by the backend
 * before it was published.
 */
export function decodeMessage(content: Buffer): WorkMessage | null {
  let value: unknown;
  try {
    value = JSON.parse(content.toString('utf8'));
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const m = value as Partial<WorkMessage>;
  if (m.v !== MESSAGE_VERSION || typeof m.jobId !== 'string' || typeof m.dueAt !== 'number') return null;
  if (m.kind === 'attempt' && typeof m.attempt === 'number' && typeof m.spec === 'object' && m.spec !== null) {
    return m as AttemptMessage;
  }
  if (m.kind === 'callback' && typeof m.delivery === 'number' && typeof m.callbackUrl === 'string') {
    return m as CallbackMessage;
  }
  return null;
}
