import {
  callbackBody,
  callbackBodyFromJob,
  callbackMessage,
  CallbackStatus,
  type Attempt,
  type AttemptMessage,
  type JobStatus,
  type Logger,
} from '@relay/common';
import { storeOf, type CallbackDeps } from '../deps.js';
import { deliverCallback } from './deliver-callback.js';

/**
 * Deliveries made from an attempt message by the worker that ended the job,
 * rather than from a callback message on the queue: the first delivery of
 * the result, and its repair after a crash.
 */

/** The job ended with `status` after attempt `entry`: deliver its result to the callback URL, if any. */
export async function deliverResult(
  deps: CallbackDeps,
  message: AttemptMessage,
  entry: Attempt,
  status: JobStatus,
  log: Logger,
): Promise<void> {
  const { spec, jobId } = message;
  if (!spec.callbackUrl) return;
  const body = callbackBody({
    jobId,
    status,
    attempts: entry.attempt,
    statusCode: entry.statusCode,
    response: entry.response,
    error: entry.error,
    completedAt: new Date(deps.now()).toISOString(),
    targetUrl: spec.targetUrl,
    method: spec.method,
  });
  await deliverCallback(deps, callbackMessage(jobId, spec.callbackUrl, body, 1, message.application), log);
}

/**
 * The job ended but this message was not acked (the worker died after
 * recording the end). If the callback never got past `pending`, deliver it
 * now; `retrying` means a callback message is already on the broker.
 */
export async function deliverPendingResultAfterCrash(
  deps: CallbackDeps,
  message: AttemptMessage,
  log: Logger,
): Promise<void> {
  if (!message.spec.callbackUrl) return;
  const job = await storeOf(deps, message).get(message.jobId);
  // Only an inline delivery that never completed; a delivery handed to the
  // broker (nextAttemptAt set) is owned by its message.
  if (!job || job.callback?.status !== CallbackStatus.pending || job.callback.nextAttemptAt) return;
  log.info('job already finished; delivering its pending callback');
  const delivery = job.callback.attempts + 1;
  await deliverCallback(
    deps,
    callbackMessage(job.jobId, message.spec.callbackUrl, callbackBodyFromJob(job), delivery, message.application),
    log,
  );
}
