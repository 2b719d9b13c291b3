import {
  jobHost,
  JobStatus,
  type Attempt,
  type AttemptMessage,
  type EventBody,
  type EventEmitter,
  type JobEvent,
  type JobEventInput,
  type JobSpec,
  type Webhooks,
} from '@relay/common';

/**
 * The worker's lifecycle events of a job (docs/events.md): built from the
 * attempt message (metadata, target host) and the webhooks map begin-attempt
 * returned, so an event costs no extra Redis round trip, and emitted before
 * the message that changed the state is acked.
 */

/** One event of the job the attempt message is about. */
export interface JobEventOf {
  event: JobEvent;
  /** See eventSequence: the attempt, or the attempts started before a cancel or a dead-letter. */
  attempt: number;
  status: JobStatus;
  data?: JobEventInput['data'];
}

/** The webhooks in force: the map set after submission (the job hash's), else the spec's. */
export function effectiveWebhooks(stored: Webhooks | null | undefined, spec: JobSpec): Webhooks | null {
  return stored ?? spec.webhooks ?? null;
}

/** Emits `events` of `message`'s job, in order; does nothing without an emitter. */
export async function emitJobEvents(
  deps: { events?: EventEmitter; now: () => number },
  message: AttemptMessage,
  webhooks: Webhooks | null,
  events: readonly JobEventOf[],
): Promise<void> {
  if (!deps.events || events.length === 0) return;
  const timestamp = new Date(deps.now()).toISOString();
  const metadata = message.spec.metadata ?? {};
  const host = jobHost(message.spec.targetUrl);
  await deps.events.emitAll(
    events.map((e) => ({
      application: message.application,
      jobId: message.jobId,
      timestamp,
      metadata,
      host,
      webhooks,
      ...e,
    })),
  );
}

/** `started`: attempt `n` took the lease and is about to call the target. */
export function startedEvent(n: number): JobEventOf {
  return {
    event: 'started',
    attempt: n,
    status: JobStatus.inProgress,
    data: { attempt: { number: n, statusCode: null, nextAttemptAt: null } },
  };
}

/** `retrying`: attempt `entry` failed and the next is due at `nextAttemptAt`. */
export function retryingEvent(
  entry: Pick<Attempt, 'attempt' | 'statusCode' | 'error'>,
  nextAttemptAt: string | null,
): JobEventOf {
  return {
    event: 'retrying',
    attempt: entry.attempt,
    status: JobStatus.retrying,
    data: { attempt: { number: entry.attempt, statusCode: entry.statusCode, nextAttemptAt }, error: entry.error },
  };
}

/**
 * The events of a job that ended with `status` after attempt `entry`:
 * completed (with the result), failed then dead_lettered (a failed job is in
 * the dead-letter archive), or cancelled (a cancel that arrived during the
 * attempt).
 */
export function endEvents(
  entry: Pick<Attempt, 'attempt' | 'statusCode' | 'response' | 'error'>,
  status: JobStatus,
): JobEventOf[] {
  const n = entry.attempt;
  const error: EventBody['error'] = entry.error;
  switch (status) {
    case JobStatus.completed:
      return [
        {
          event: 'completed',
          attempt: n,
          status,
          data: { result: { statusCode: entry.statusCode, response: entry.response } },
        },
      ];
    case JobStatus.failed:
      return [
        { event: 'failed', attempt: n, status, data: { error } },
        { event: 'dead_lettered', attempt: n, status, data: { error } },
      ];
    case JobStatus.cancelled:
      return [{ event: 'cancelled', attempt: n, status, data: { error } }];
    default:
      return [];
  }
}

/** `cancelled` before attempt `n` ran: `done` attempts were started before it. */
export function cancelledBeforeEvent(done: number): JobEventOf {
  return { event: 'cancelled', attempt: done, status: JobStatus.cancelled };
}
