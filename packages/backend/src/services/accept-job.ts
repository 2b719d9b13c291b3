import { randomUUID } from 'node:crypto';
import {
  AcceptUncertainError,
  attemptMessage,
  ConfirmTimeoutError,
  sealMessageHeaders,
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
 * Records a new job of `jobs`' application, then publishes its first attempt,
 * and returns its id. The record comes first so that the worker always finds
 * it. Throws ServiceUnavailableError (from the store or the queue) when the job
 * was not accepted.
 */
export async function acceptJob(
  queue: JobQueue,
  jobs: JobStore,
  submission: Submission,
  log: LogSink,
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
  try {
    // Credential headers travel sealed for this job when a key is set.
    await queue.publish(sealMessageHeaders(message, jobs.secretKey, jobs.redactor));
  } catch (err) {
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
  return { jobId };
}
