import {
  attemptMessage,
  callbackBodyFromJob,
  callbackMessage,
  cancelWebhookId,
  ErrorCodes,
  JobStatus,
  pendingCallback,
  sealMessageHeaders,
  type DeadlineJob,
  type EventEmitter,
  type JobStore,
  type Logger,
} from '@relay/common';
import type { Scheduler } from '../scheduler.js';
import { uncalledAttempt } from '../attempt/uncalled-attempt.js';
import { emitJobEvents, endEvents } from '../events/job-events.js';

/** What a repair needs: the stores, the publisher and the clock. */
export interface RepairDeps {
  store: JobStore;
  scheduler: Scheduler;
  now: () => number;
  /** Emits the events of a job the repair ends (none without it). */
  events?: EventEmitter;
}

/**
 * Publishes attempt `attempt` of a job again, rebuilt from the stored spec
 * and hash. A job whose credential headers were redacted and cannot be
 * restored (no RELAY_SECRET_KEY) is not sent without them: it fails with
 * RELAY_ERR_CREDENTIALS_LOST, dead-lettered like any failed job, and its
 * callback (if any) is published. Returns what was done.
 */
export async function republishAttempt(
  deps: RepairDeps,
  jobId: string,
  job: DeadlineJob,
  attempt: number,
  log: Logger,
): Promise<'published' | 'credentials_lost' | 'gone'> {
  const store = deps.store.forApplication(job.application ?? deps.store.application);
  const source = await store.specForReplay(jobId);
  if (!source) return 'gone';
  const message = attemptMessage({
    jobId,
    spec: source.spec,
    createdAt: source.createdAt,
    requestId: job.requestId,
    traceId: source.traceId,
    application: store.application,
    attempt,
    seriesBase: job.seriesBase,
  });
  if (!source.missingSecrets) {
    // Rebuilt sealed (when a key is set), like the message it replaces.
    await deps.scheduler.schedule(sealMessageHeaders(message, store.secretKey, store.redactor));
    return 'published';
  }
  const error = { code: ErrorCodes.CREDENTIALS_LOST.code, message: ErrorCodes.CREDENTIALS_LOST.message };
  await deps.scheduler.deadLetter(message, error.code);
  const entry = uncalledAttempt(attempt, deps.now(), error);
  const recorded = await store.recordAttempt(jobId, {
    attempt: entry,
    status: JobStatus.failed,
    nextAttemptAt: null,
    callback: source.spec.callbackUrl ? pendingCallback() : null,
    deadLettered: true,
  });
  if (!recorded.written) return 'credentials_lost';
  log.error({ jobId, attempt, status: recorded.status }, 'job lost its message and its credentials cannot be restored');
  // The job's webhooks as they are now (a map set after submission included).
  const view = deps.events ? await store.get(jobId) : null;
  await emitJobEvents(deps, message, view?.webhooks ?? source.spec.webhooks ?? null, endEvents(entry, recorded.status));
  if (source.spec.callbackUrl) await republishCallback(deps, jobId, job.application, 1);
  return 'credentials_lost';
}

/** Publishes delivery `delivery` of a finished job's callback again, from the job's record. */
export async function republishCallback(
  deps: RepairDeps,
  jobId: string,
  application: string | null,
  delivery: number,
): Promise<'published' | 'gone'> {
  const store = deps.store.forApplication(application ?? deps.store.application);
  const job = await store.get(jobId);
  if (!job?.callbackUrl || !job.callback) return 'gone';
  const body = callbackBodyFromJob(job);
  // A job cancelled while it waited had its result handed to the broker at
  // once (nextAttemptAt set, no delivery made) under the cancel's id; any
  // other result is identified by its last attempt (webhook-ids.ts).
  const cancelledWaiting =
    job.status === JobStatus.cancelled && job.callback.attempts === 0 && job.callback.nextAttemptAt !== null;
  const webhookId = cancelledWaiting ? cancelWebhookId(jobId, job.replays) : undefined;
  await deps.scheduler.schedule(callbackMessage(jobId, job.callbackUrl, body, delivery, store.application, webhookId));
  return 'published';
}
