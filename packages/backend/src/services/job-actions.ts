import type { FastifyInstance } from 'fastify';
import {
  attemptMessage,
  sealMessageHeaders,
  callbackBody,
  callbackBodyFromJob,
  callbackMessage,
  cancelWebhookId,
  JobStatus,
  pendingCallback,
  RelayError,
  type JobStore,
} from '@relay/common';

/**
 * Cancel and replay: the state change is one Lua script in the job store; the
 * broker is told after it (and the change undone if the broker refuses).
 * Storage and broker failures arrive as ServiceUnavailableError from the store
 * and the queue, for the central error handler to answer.
 */

export type CancelAnswer =
  { jobId: string; status: 'cancelled' } | { jobId: string; status: 'in_progress'; cancelRequested: true };

/** Cancels one of `jobs`' jobs (the caller's application's). */
export async function cancelJob(app: FastifyInstance, jobs: JobStore, jobId: string): Promise<CancelAnswer> {
  const job = await jobs.get(jobId);
  if (!job) throw new RelayError('JOB_NOT_FOUND');
  const queuedAt = new Date().toISOString();
  const result = await jobs.cancel(jobId, job.callbackUrl ? pendingCallback(queuedAt) : null);
  switch (result.outcome) {
    case 'missing':
      throw new RelayError('JOB_NOT_FOUND');
    case 'final':
      throw new RelayError('JOB_FINISHED', {
        message: `The job is already ${result.status} and cannot be cancelled`,
        details: [{ path: '/status', message: result.status }],
      });
    case 'requested':
      return { jobId, status: JobStatus.inProgress, cancelRequested: true };
    case 'cancelled':
      if (job.callbackUrl) {
        const body = callbackBody({ ...callbackBodyFromJob(job), status: JobStatus.cancelled, completedAt: queuedAt });
        // Best effort after the state change: if the broker is down now, the
        // job stays cancelled and its callback reads 'pending' (see the delivery
        // guarantees).
        await app.jobQueue
          .publish(
            callbackMessage(jobId, job.callbackUrl, body, 1, jobs.application, cancelWebhookId(jobId, job.replays)),
          )
          .catch((err: unknown) => {
            app.log.error({ err, jobId }, 'cancelled job: callback could not be queued');
          });
      }
      return { jobId, status: JobStatus.cancelled };
  }
}

/** Re-runs a failed or cancelled job as a new series of attempts under the same id. */
export async function replayJob(
  app: FastifyInstance,
  jobs: JobStore,
  jobId: string,
  requestId: string | null,
): Promise<void> {
  const stored = await jobs.specForReplay(jobId);
  if (!stored) throw new RelayError('JOB_NOT_FOUND');
  if (stored.missingSecrets) throw new RelayError('REPLAY_NEEDS_SECRETS');
  const result = await jobs.replay(jobId, requestId);
  if (result.outcome === 'missing') throw new RelayError('JOB_NOT_FOUND');
  if (result.outcome === 'conflict') {
    throw new RelayError('JOB_NOT_REPLAYABLE', {
      message: `The job is ${result.status}; only a failed or cancelled job can be replayed`,
      details: [{ path: '/status', message: result.status }],
    });
  }
  const message = attemptMessage({
    jobId,
    attempt: result.attemptsDone + 1,
    seriesBase: result.attemptsDone,
    createdAt: stored.createdAt,
    spec: stored.spec,
    requestId,
    traceId: stored.traceId,
    application: jobs.application,
  });
  try {
    // Rebuilt sealed (when a key is set), like the message of a new job.
    await app.jobQueue.publish(sealMessageHeaders(message, jobs.secretKey, jobs.redactor));
  } catch (err) {
    await jobs.undoReplay(jobId, result.attemptsDone).catch((undoErr: unknown) => {
      app.log.error({ err: undoErr, jobId }, 'replay could not be queued nor undone; the job reads queued');
    });
    throw err;
  }
}
