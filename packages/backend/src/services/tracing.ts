import { randomUUID } from 'node:crypto';
import { randomHex } from '@relay/common';
import type { IncomingMessage } from 'node:http';

/** Accepted x-request-id values: what fits in a log line and a header. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The caller's x-request-id when it is sane, else a new UUID. */
export function requestIdOf(req: IncomingMessage): string {
  const sent = req.headers['x-request-id'];
  return typeof sent === 'string' && REQUEST_ID.test(sent) ? sent : randomUUID();
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$/;

/**
 * The trace a job joins: the caller's (from a W3C `traceparent` header) when
 * valid, else a new one. The worker sends each attempt as a child span of it.
 */
export function traceIdOf(traceparent: string | string[] | undefined): string {
  const match = typeof traceparent === 'string' ? TRACEPARENT.exec(traceparent) : null;
  if (match && !/^0+$/.test(match[1]!)) return match[1]!;
  return randomHex(16);
}
