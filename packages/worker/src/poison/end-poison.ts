import {
  CallbackStatus,
  ErrorCodes,
  isFinalStatus,
  JobStatus,
  pendingCallback,
  type AttemptMessage,
  type CallbackMessage,
  type Logger,
  type WorkMessage,
} from '@relay/common';
import { deliverResult } from '../callback/inline-delivery.js';
import { storeOf, type WorkerDeps } from '../deps.js';
import { uncalledAttempt } from '../attempt/uncalled-attempt.js';
import { emitJobEvents, endEvents } from '../events/job-events.js';
import { isOutage } from './failure-policy.js';

const POISON = ErrorCodes.POISON_MESSAGE;

/**
 * Ends a poison message (failure-policy.ts): publishes it to the dead-letter
 * archive with the reason, then ends what it was for with
 * RELAY_ERR_POISON_MESSAGE: an attempt's job as `failed` (`cancelled`, not
 * dead-lettered, when a cancel was requested meanwhile), a callback's
 * delivery as `failed`. A job that is already final was ended by another
 * copy or a cancel: nothing is published again. Throws when Redis or the
 * broker is down; the message then goes back to the broker and ends on its
 * next failure.
 */
export async function endPoisonMessage(
  deps: WorkerDeps,
  message: WorkMessage,
  failures: number,
  log: Logger,
): Promise<void> {
  if (message.kind === 'attempt') return failPoisonAttempt(deps, message, failures, log);
  return failPoisonCallback(deps, message, failures, log);
}

async function failPoisonAttempt(
  deps: WorkerDeps,
  message: AttemptMessage,
  failures: number,
  log: Logger,
): Promise<void> {
  const store = storeOf(deps, message);
  const job = await unlessBroken(store.get(message.jobId), log);
  if (job === BROKEN) {
    // The record itself is what fails: the archive keeps the message.
    await deps.scheduler.deadLetter(message, POISON.code);
    log.error({ attempt: message.attempt, failures }, 'poison message of an unreadable job dead-lettered');
    return;
  }
  if (job && isFinalStatus(job.status)) {
    log.warn({ attempt: message.attempt, status: job.status, failures }, 'poison message of a finished job dropped');
    return;
  }
  // A cancel that arrived while the handling kept failing (the job stayed
  // in_progress under its lease) wins: the client asked for the job to stop,
  // and it has. Nothing is dead-lettered for a cancelled job.
  const cancelled = job?.cancelRequested === true;
  // Dead-letter before recording, as for any failed job: once the job reads
  // 'failed', its message is already in the archive.
  if (!cancelled) await deps.scheduler.deadLetter(message, POISON.code);
  if (!job) {
    // No record to end (expired, or lost with Redis and not recreated): the
    // archive is all that is left of it.
    log.error({ attempt: message.attempt, failures }, 'poison message of a missing job dead-lettered');
    return;
  }
  const entry = uncalledAttempt(message.attempt, deps.now(), { code: POISON.code, message: POISON.message });
  const recorded = await unlessBroken(
    store.recordAttempt(message.jobId, {
      attempt: entry,
      status: cancelled ? JobStatus.cancelled : JobStatus.failed,
      nextAttemptAt: null,
      callback: message.spec.callbackUrl ? pendingCallback() : null,
      deadLettered: !cancelled,
    }),
    log,
  );
  if (recorded === BROKEN || !recorded.written) return;
  const written = recorded.status;
  log.error({ attempt: message.attempt, failures, status: written }, 'poison message: job ended');
  if (written !== JobStatus.failed && written !== JobStatus.cancelled) return;
  if (written === JobStatus.failed) deps.metrics?.deadLettered();
  deps.metrics?.jobFinished(written, Date.parse(message.createdAt), message.application);
  // failed and dead_lettered, or cancelled. A broker that refuses them now
  // fails this message once more: its next copy finds the job final and
  // emits them again (reemit-events.ts).
  await emitJobEvents(deps, message, job.webhooks, endEvents(entry, written));
  // The job has ended either way: a delivery that fails here is left
  // 'pending' for the repair of pending callbacks, rather than making this
  // message fail once more.
  await deliverResult(deps, message, entry, written, log).catch((err: unknown) => {
    log.error({ err }, 'poison message: result callback not delivered');
  });
}

const BROKEN = Symbol('broken record');

/**
 * A store call of the poison path whose failure is not an outage (the job's
 * record is corrupt, say) resolves to BROKEN instead of throwing: ending the
 * message must not fail for the reason it is being ended. An outage still
 * throws, so the message is deferred and ends once the store is back.
 */
async function unlessBroken<T>(call: Promise<T>, log: Logger): Promise<T | typeof BROKEN> {
  try {
    return await call;
  } catch (err) {
    if (isOutage(err)) throw err;
    log.error({ err }, 'poison message: job record could not be read or written');
    return BROKEN;
  }
}

async function failPoisonCallback(
  deps: WorkerDeps,
  message: CallbackMessage,
  failures: number,
  log: Logger,
): Promise<void> {
  await deps.scheduler.deadLetter(message, POISON.code);
  await unlessBroken(
    storeOf(deps, message).setCallback(
      message.jobId,
      {
        status: CallbackStatus.failed,
        statusCode: null,
        attempts: message.delivery,
        error: { code: POISON.code, message: POISON.message },
        lastAttemptAt: new Date(deps.now()).toISOString(),
        nextAttemptAt: null,
      },
      'callbacks_failed',
    ),
    log,
  );
  deps.metrics?.callback('failed');
  log.error({ delivery: message.delivery, failures }, 'poison message: callback failed and dead-lettered');
}
