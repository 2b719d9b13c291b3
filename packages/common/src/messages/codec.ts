import type { Options } from 'amqplib';
import { Compile } from 'typebox/compile';
import { LEVEL_HEADER, PRIORITY_LEVELS, type PriorityLevel } from '../keys/queues.js';
import { findJsonDepthExcess } from '../json-depth.js';
import { lastAttemptOfSeries, MessageLimits, WorkMessageSchema, type WorkMessage } from './types.js';

/** The priority level of a work message: its job's priority; callbacks go at normal priority. */
export function messageLevel(message: WorkMessage): PriorityLevel {
  return message.kind === 'attempt' ? (message.spec.priority ?? 'normal') : 'normal';
}

/**
 * AMQP properties of a work message: its level as the AMQP priority (the
 * classic work queue orders by it) and as LEVEL_HEADER (on a quorum topology
 * a delay tier dead-letters through an exchange that routes on it).
 */
export function messageProperties(message: WorkMessage): Options.Publish {
  const level = messageLevel(message);
  return { priority: PRIORITY_LEVELS[level], messageId: message.jobId, headers: { [LEVEL_HEADER]: level } };
}

export function encodeMessage(message: WorkMessage): Buffer {
  return Buffer.from(JSON.stringify(message));
}

const workMessage = Compile(WorkMessageSchema);

/**
 * The JSON of a message from the broker, or undefined when it is not JSON or
 * is nested deeper than MessageLimits.jsonDepth allows (it could not be
 * encoded again, to defer or dead-letter it). Every decoder starts here.
 */
export function parseMessageJson(content: Buffer): unknown {
  let value: unknown;
  try {
    value = JSON.parse(content.toString('utf8'));
  } catch {
    return undefined;
  }
  const { payload, envelope } = MessageLimits.jsonDepth;
  return findJsonDepthExcess(value, payload + envelope) === null ? value : undefined;
}

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
  const value = parseMessageJson(content);
  if (value === undefined || !workMessage.Check(value)) return null;
  const message = value as WorkMessage;
  if (message.kind === 'attempt' && message.attempt > lastAttemptOfSeries(message)) return null;
  return message;
}
