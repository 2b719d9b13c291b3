import type { EventBody, EventDestination, EventMessage } from '@relay/common';
import { EVENT_USER_AGENT } from '../package-version.js';

/**
 * Pure parts of an event delivery: its headers, and the copy that carries a
 * failed destination's next delivery.
 */

/**
 * Header names a subscription's own headers cannot set: relay's (the body's
 * type, the signature, the job) and those the HTTP client owns.
 */
const RESERVED = new Set(['content-type', 'content-length', 'host', 'transfer-encoding', 'connection', 'user-agent']);
const RESERVED_PREFIXES = ['webhook-', 'x-job-'];

function reserved(name: string): boolean {
  const lower = name.toLowerCase();
  return RESERVED.has(lower) || RESERVED_PREFIXES.some((p) => lower.startsWith(p));
}

/**
 * The headers of one delivery, before signing: the subscription's own (bar
 * the reserved ones), then relay's, with the seed's `X-Job-Id` and
 * `X-Job-Status` when the event is about a job. Pure.
 */
export function eventHeaders(body: EventBody, custom: Record<string, string> = {}): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(custom)) if (!reserved(name)) headers[name] = value;
  headers['content-type'] = 'application/json';
  headers['user-agent'] = EVENT_USER_AGENT;
  if (body.jobId !== null) headers['x-job-id'] = body.jobId;
  if (body.status !== null) headers['x-job-status'] = body.status;
  return headers;
}

/**
 * The message that carries `destination`'s next delivery, due at `dueAt`:
 * that destination alone, its delivery number one up, its webhook-id the
 * same. Its handling failures start again from none. Pure.
 */
export function retryCopy(message: EventMessage, destination: EventDestination, dueAt: number): EventMessage {
  const { failures: _failures, ...rest } = message;
  return { ...rest, dueAt, destinations: [{ ...destination, delivery: destination.delivery + 1 }] };
}

/** The key deliveries are chained on: one job's events to one destination go in order. */
export function chainKey(message: EventMessage, destination: EventDestination): string {
  return `${message.application}\n${message.body.jobId ?? ''}\n${destination.kind}:${destination.id}`;
}
