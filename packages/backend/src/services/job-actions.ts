import type { FastifyInstance } from 'fastify';
import {
  attemptMessage,
  sealMessageHeaders,
  callbackBody,
  callbackBodyFromJob,
  callbackMessage,
  cancelWebhookId,
  jobHost,
  JobStatus,
  pendingCallback,
  RelayError,
  type JobEventInput,
  type JobStore,
  type JobView,
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
      // `job.attempts` were started before the cancel (eventSequence). Best
      // effort, as the callback below: the job is cancelled either way.
      await emitJobEvent(app, jobs, job, { event: 'cancelled', attempt: job.attempts, status: JobStatus.cancelled });
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
  // Read before the change, for the event (its metadata, target and webhooks do not change with it).
  const before = await jobs.get(jobId);
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
  // `replayed` goes on the channel just before the new series, as `created`
  // does before a new job (accept-job.ts): the broker keeps the order, so the
  // series' `started` cannot overtake it. If the broker then refuses the
  // series, the replay is undone and receivers may have heard of it: rarer
  // (the same channel most likely refused both) than a `replayed` arriving
  // after the job's next events on every replay.
  const replayed = before
    ? await prepareJobEvent(app, jobs, before, {
        event: 'replayed',
        attempt: result.attemptsDone,
        status: JobStatus.queued,
      })
    : null;
  const eventSent = replayed?.();
  try {
    // Rebuilt sealed (when a key is set), like the message of a new job.
    await app.jobQueue.publish(sealMessageHeaders(message, jobs.secretKey, jobs.redactor));
  } catch (err) {
    await jobs.undoReplay(jobId, result.attemptsDone).catch((undoErr: unknown) => {
      app.log.error({ err: undoErr, jobId }, 'replay could not be queued nor undone; the job reads queued');
    });
    throw err;
  } finally {
    await eventSent;
  }
}

/**
 * Matches one event of `job` and returns its publish (EventEmitter.prepare),
 * which never rejects: a broker that refuses the event loses the event, not
 * the action the client asked for. Null when the match failed (logged).
 */
async function prepareJobEvent(
  app: FastifyInstance,
  jobs: JobStore,
  job: JobView,
  change: Pick<JobEventInput, 'event' | 'attempt' | 'status'>,
): Promise<(() => Promise<void>) | null> {
  const lost = (err: unknown) =>
    app.log.error({ err, jobId: job.jobId, event: change.event }, 'job event could not be published');
  try {
    const publish = await app.jobEvents.prepare([
      {
        ...change,
        application: jobs.application,
        jobId: job.jobId,
        timestamp: new Date().toISOString(),
        metadata: job.metadata,
        host: jobHost(job.targetUrl),
        webhooks: job.webhooks,
      },
    ]);
    return () => publish().then(() => undefined, lost);
  } catch (err) {
    lost(err);
    return null;
  }
}

/**
 * Emits one event of `job` (as it was read before the change: its metadata,
 * target and effective webhooks do not change with it). A broker that
 * refuses it loses the event, not the action the client asked for.
 */
async function emitJobEvent(
  app: FastifyInstance,
  jobs: JobStore,
  job: JobView,
  change: Pick<JobEventInput, 'event' | 'attempt' | 'status'>,
): Promise<void> {
  await (
    await prepareJobEvent(app, jobs, job, change)
  )?.();
}
