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

/**
 * Standard Webhooks `webhook-id`s of a job's results. Every delivery of one
 * result carries the same id, and each result of a job gets its own: a result
 * comes either from an attempt (attempt numbers never repeat within a job; a
 * replay numbers on) or from the cancel of a waiting job, which happens at
 * most once per series (the job's replay count).
 */
export function attemptWebhookId(jobId: string, attempt: number): string {
  return `msg_${jobId}_a${attempt}`;
}

/**
 * The `webhook-id` of a job's signed target requests: one id for all its
 * attempts, replays included, since each one re-sends the same request.
 */
export function targetWebhookId(jobId: string): string {
  return `msg_${jobId}`;
}

/** The `webhook-id` of the result of cancelling a waiting job (see attemptWebhookId). */
export function cancelWebhookId(jobId: string, replays: number): string {
  return `msg_${jobId}_c${replays}`;
}

/**
 * A callback message for a result. `webhookId` defaults to the id of the
 * result of attempt `body.attempts`; a cancel of a waiting job passes
 * cancelWebhookId.
 */
export function callbackMessage(
  jobId: string,
  callbackUrl: string,
  body: CallbackBody,
  delivery: number,
  application: string,
  webhookId: string = attemptWebhookId(jobId, body.attempts),
): CallbackMessage {
  return { v: 1, kind: 'callback', jobId, delivery, dueAt: 0, callbackUrl, body, application, webhookId };
}

/** The one builder of a callback document; `success` follows from the status. */
export function callbackBody(input: Omit<CallbackBody, 'success'>): CallbackBody {
  return { ...input, success: input.status === JobStatus.completed };
}

/** The callback document of a finished job, from its record. */
export function callbackBodyFromJob(job: JobView): CallbackBody {
  return callbackBody({
    jobId: job.jobId,
    status: job.status,
    attempts: job.attempts,
    statusCode: job.attemptsLog.at(-1)?.statusCode ?? null,
    response: job.lastResponse,
    error: job.error,
    completedAt: job.completedAt ?? job.updatedAt,
    targetUrl: job.targetUrl,
    method: job.method,
  });
}
