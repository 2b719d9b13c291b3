import { randomUUID } from 'node:crypto';
import {
  AcceptUncertainError,
  attemptMessage,
  ConfirmTimeoutError,
  jobHost,
  JobStatus,
  sealMessageHeaders,
  type EventEmitter,
  type JobSpec,
  type JobStore,
  type LogSink,
} from '@relay/common';
import type { JobQueue } from '../plugins/job-queue.js';

/** A validated job spec and what the request that carried it says about it. */
export interface Submission {
  spec: JobSpec;
  requestId: string;
  /** The trace the job joins (see `traceIdOf`). */
  traceId: string;
}

/**
 * Records a new job of `jobs`' application, then publishes its first attempt
 * and its `created` event side by side, and returns its id once both are
 * confirmed. The record comes first so that the worker always finds it.
 * Throws ServiceUnavailableError (from the store or the queue) when the job
 * was not accepted.
 */
export async function acceptJob(
  queue: JobQueue,
  jobs: JobStore,
  submission: Submission,
  log: LogSink,
  events?: EventEmitter,
): Promise<{ jobId: string }> {
  const { spec, requestId, traceId } = submission;
  const jobId = randomUUID();
  const createdAt = new Date();
  await jobs.create({ jobId, spec, createdAt, requestId, traceId });
  const message = attemptMessage({
    jobId,
    spec,
    createdAt: createdAt.toISOString(),
    requestId,
    traceId,
    application: jobs.application,
  });
  // Matched first (in memory), then written to the channel just before the
  // job's message, whose confirm it shares the wait of: an event costs the
  // answer no extra round trip, and the broker keeps the channel's order, so
  // no worker can start the job (and emit `started`) before `created` is on
  // the events queue. The job's fate rests on its own message alone (below).
  // A `created` the broker refuses is lost, not retried: the job is on the
  // broker and will run, and answering 503 would have the client submit it
  // twice.
  const logLost = (err: unknown) => log.error({ err, jobId }, 'created event could not be published');
  const publishCreated = await events
    ?.prepare([
      {
        application: jobs.application,
        jobId,
        event: 'created',
        attempt: 0,
        status: JobStatus.queued,
        timestamp: createdAt.toISOString(),
        metadata: spec.metadata ?? {},
        host: jobHost(spec.targetUrl),
        webhooks: spec.webhooks,
      },
    ])
    .catch((err: unknown) => void logLost(err));
  const created = publishCreated?.().catch(logLost);
  try {
    // Credential headers travel sealed for this job when a key is set.
    await queue.publish(sealMessageHeaders(message, jobs.secretKey, jobs.redactor));
  } catch (err) {
    await created;
    // The confirm timed out: the broker may have the message, so the record
    // stays (the worker runs it, or the reconciler publishes it again if the
    // broker lost it), and the answer names the job.
    if (err instanceof ConfirmTimeoutError || (err as Error).cause instanceof ConfirmTimeoutError) {
      throw new AcceptUncertainError(jobId, err);
    }
    // Refused or not sent: take the record back so no job claims to be queued. If the
    // confirm was merely late, the worker recreates the record from the
    // message (see the delivery guarantees).
    await jobs.delete(jobId, spec).catch((delErr: unknown) => {
      log.error({ err: delErr, jobId }, 'could not remove the record of a job that was not queued');
    });
    throw err;
  }
  await created;
  return { jobId };
}
