import { createHash } from 'node:crypto';
import type { JobEvent } from './event-names.js';

/**
 * Per-job sequence numbers of events, computed from the attempt number the
 * event belongs to rather than counted: two copies of one event (a worker
 * that died after publishing it, at-least-once delivery) get the same number,
 * and no Redis round trip is needed to take one. Numbers grow with the job's
 * history but leave gaps; receivers order by them and must not expect every
 * integer. With `a` the attempt (or, for cancelled/dead_lettered/replayed,
 * the attempts started before the event):
 *   created 1 · started 4a · retrying/completed/failed 4a+1 ·
 *   cancelled/dead_lettered 4a+2 · replayed 4a+3
 * so started(a) < its result < dead_lettered < replayed < started(a+1).
 */
export function eventSequence(event: JobEvent, attempt: number): number {
  switch (event) {
    case 'created':
      return 1;
    case 'started':
      return 4 * attempt;
    case 'retrying':
    case 'completed':
    case 'failed':
      return 4 * attempt + 1;
    case 'cancelled':
    case 'dead_lettered':
      return 4 * attempt + 2;
    case 'replayed':
      return 4 * attempt + 3;
  }
}

/**
 * Standard Webhooks `webhook-id` of one event to one destination: the same
 * on every retry and every duplicate of the event (it is derived, not drawn),
 * different per destination, so a receiver can drop duplicates by it.
 * `destination` is `sub:<subscriptionId>` or `job:<url>` (a per-job webhook).
 */
export function eventWebhookId(jobId: string, sequence: number, destination: string): string {
  const digest = createHash('sha256').update(`${jobId}\n${sequence}\n${destination}`).digest('base64url');
  return `msg_ev_${digest.slice(0, 32)}`;
}
