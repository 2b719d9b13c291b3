import type { CallbackBody, CallbackState, JobView } from './job-schema.js';
import type { CallbackMessage } from './messages.js';
import { CallbackStatus, JobStatus } from './status.js';

/**
 * The callback state of a job that has just ended. `queuedAt` is set when the
 * first delivery was handed to the broker as a message (a cancel through the
 * API) rather than made inline by the worker that finished the job.
 */
export function pendingCallback(queuedAt: string | null = null): CallbackState {
  return {
    status: CallbackStatus.pending,
    statusCode: null,
    attempts: 0,
    error: null,
    lastAttemptAt: null,
    nextAttemptAt: queuedAt,
  };
}

export function callbackMessage(
  jobId: string,
  callbackUrl: string,
  body: CallbackBody,
  delivery: number,
  application: string,
): CallbackMessage {
  return { v: 1, kind: 'callback', jobId, delivery, dueAt: 0, callbackUrl, body, application };
}

/** The callback document of a finished job, from its record. */
export function callbackBodyFromJob(job: JobView): CallbackBody {
  const last = job.attemptsLog.at(-1);
  return {
    jobId: job.jobId,
    status: job.status,
    success: job.status === JobStatus.completed,
    attempts: job.attempts,
    statusCode: last?.statusCode ?? null,
    response: job.lastResponse,
    error: job.error,
    completedAt: job.completedAt ?? job.updatedAt,
    targetUrl: job.targetUrl,
    method: job.method,
  };
}
