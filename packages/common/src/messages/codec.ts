import type { Options } from 'amqplib';
import { Compile } from 'typebox/compile';
import { PRIORITY_LEVELS } from '../keys/queues.js';
import { findJsonDepthExcess } from '../json-depth.js';
import { lastAttemptOfSeries, MessageLimits, WorkMessageSchema, type WorkMessage } from './types.js';

/** AMQP properties of a work message: its job's priority (callbacks go at normal priority). */
export function messageProperties(message: WorkMessage): Options.Publish {
  const level = message.kind === 'attempt' ? (message.spec.priority ?? 'normal') : 'normal';
  return { priority: PRIORITY_LEVELS[level], messageId: message.jobId };
}

export function encodeMessage(message: WorkMessage): Buffer {
  return Buffer.from(JSON.stringify(message));
}

const workMessage = Compile(WorkMessageSchema);

/**
 * Parses a message, or returns null when it is not one of ours: bad JSON,
 * nested deeper than MessageLimits.jsonDepth allows (it could not be encoded
 * again), another version than MESSAGE_VERSION, or any field outside its schema
 * (WorkMessageSchema: ids of their shape, numbers within MessageLimits, the
 * job spec as the API accepts it). An attempt number past the last of its
 * series is refused too: the worker never schedules one, so only a forged or
 * corrupt message carries it. Everything the Lua scripts are given from a
 * message is therefore bounded before they run.
 */
export function decodeMessage(content: Buffer): WorkMessage | null {
  let value: unknown;
  try {
    value = JSON.parse(content.toString('utf8'));
  } catch {
    return null;
  }
  const { payload, envelope } = MessageLimits.jsonDepth;
  if (findJsonDepthExcess(value, payload + envelope) !== null) return null;
  if (!workMessage.Check(value)) return null;
  const message = value as WorkMessage;
  if (message.kind === 'attempt' && message.attempt > lastAttemptOfSeries(message)) return null;
  return message;
}
