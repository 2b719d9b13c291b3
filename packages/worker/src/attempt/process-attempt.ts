import { randomUUID } from 'node:crypto';
import {
  pendingCallback,
  JobStatus,
  type Attempt,
  type AttemptMessage,
  type JobSpec,
  type Logger,
} from '@relay/common';
import { deliverPendingResultAfterCrash, deliverResult } from '../callback/inline-delivery.js';
import { storeOf, type WorkerDeps } from '../deps.js';
import { outcomeError } from '../http/error-classification.js';
import { sendHttp } from '../http/http-call.js';
import { decideNext } from '../retry-policy.js';
import { recordedResponse } from './recorded-response.js';
import { targetRequest } from './target-request.js';

/**
 * How much longer than its own timeout an attempt keeps the job's lease. A
 * copy of the same message that arrives while the lease is held waits (in a
 * delay tier) instead of calling the target a second time.
 */
const LEASE_GRACE_MS = 5000;

/**
 * A copy that found the job busy comes back this long after the lease ends,
 * so that it finds the lease expired rather than in its last milliseconds.
 */
const BUSY_RECHECK_MARGIN_MS = 50;

/** The deadline of one attempt: the job's timeout, never above the worker's ceiling. */
function attemptTimeoutMs(deps: WorkerDeps, spec: JobSpec): number {
  return Math.min(spec.timeout, deps.attemptTimeoutMaxMs);
}

/**
 * Handles one attempt message end to end. Resolves when the message may be
 * acked: the attempt is recorded and whatever comes next (a retry, a callback)
 * is either done or safely on the broker. Throws when a backing service
 * failed; the caller then defers the message.
 */
export async function processAttempt(deps: WorkerDeps, message: AttemptMessage, log: Logger): Promise<void> {
  const { jobId, attempt: n } = message;
  const lease = { token: randomUUID(), ms: attemptTimeoutMs(deps, message.spec) + LEASE_GRACE_MS };
  let begin = await storeOf(deps, message).beginAttempt(jobId, n, lease);
  if (begin.outcome === 'missing') {
    // Expired, or lost with a Redis restart: the message is the durable copy.
    log.warn({ attempt: n }, 'job record missing; recreating it from the message');
    begin = await storeOf(deps, message).beginAttempt(jobId, n, lease, {
      spec: message.spec,
      createdAt: message.createdAt,
    });
  }

  switch (begin.outcome) {
    case 'final':
      // A redelivery after the job ended: make sure its callback went out.
      return deliverPendingResultAfterCrash(deps, message, log);
    case 'stale':
      // Attempt n is already recorded. If the crash came between recording it
      // and scheduling attempt n+1, schedule it now (a duplicate is harmless:
      // the lease and the attempt counter make the extra copy a no-op).
      if (begin.status === JobStatus.retrying && begin.attemptsDone === n) {
        const dueAt = begin.nextAttemptAt ? Date.parse(begin.nextAttemptAt) : deps.now();
        await deps.scheduler.schedule({ ...message, attempt: n + 1, dueAt });
      } else {
        log.debug({ attempt: n, attemptsDone: begin.attemptsDone }, 'duplicate attempt message dropped');
      }
      return;
    case 'busy':
      log.debug({ attempt: n, waitMs: begin.leaseRemainingMs }, 'attempt already running elsewhere; deferring');
      await deps.scheduler.schedule({
        ...message,
        dueAt: deps.now() + begin.leaseRemainingMs + BUSY_RECHECK_MARGIN_MS,
      });
      return;
    case 'missing':
      throw new Error('job record could not be recreated');
    case 'run':
      return runAttempt(deps, message, log);
  }
}

async function runAttempt(deps: WorkerDeps, message: AttemptMessage, log: Logger): Promise<void> {
  const { spec, attempt: n, jobId } = message;
  const request = await targetRequest(deps, message);
  const result = await sendHttp(deps.dispatcher, {
    url: spec.targetUrl,
    method: spec.method,
    headers: request.headers,
    body: request.body,
    timeoutMs: attemptTimeoutMs(deps, spec),
    bodyCap: deps.bodyCap,
    jsonMaxDepth: deps.jsonMaxDepth,
  });
  // The retry budget and the backoff count attempts of the current series
  // only, so a replayed job gets maxRetries again.
  const decision = decideNext(
    result,
    n - message.seriesBase,
    {
      maxRetries: spec.maxRetries,
      retryDelay: spec.retryDelay,
      maxDelayMs: deps.maxDelayMs,
      retryAfterMaxMs: deps.retryAfterMaxMs,
    },
    deps.random(),
    deps.now(),
  );
  const entry: Attempt = {
    attempt: n,
    startedAt: result.startedAt,
    durationMs: result.durationMs,
    statusCode: result.statusCode,
    success: decision.kind === 'success',
    response: recordedResponse(deps.redactor, result.response),
    error: outcomeError(result, decision, 'target'),
    retryable: decision.kind === 'retry' || (decision.kind === 'fail' && decision.retryable),
  };
  deps.metrics?.attempt(entry, decision.kind);

  const callback = spec.callbackUrl ? pendingCallback() : null;
  if (decision.kind === 'retry') {
    const dueAt = deps.now() + decision.delayMs;
    // Record first, then schedule: a crash in between is repaired by the
    // 'stale' branch above when this message is redelivered.
    const written = await storeOf(deps, message).recordAttempt(jobId, {
      attempt: entry,
      status: JobStatus.retrying,
      nextAttemptAt: new Date(dueAt).toISOString(),
      callback,
      deadLettered: false,
    });
    if (written === JobStatus.retrying) {
      await deps.scheduler.schedule({ ...message, attempt: n + 1, dueAt });
      deps.metrics?.retryScheduled();
      log.info(
        { attempt: n, statusCode: result.statusCode, error: entry.error?.code, delayMs: decision.delayMs },
        'attempt failed; retry scheduled',
      );
      return;
    }
    // A cancel arrived during the attempt: the job ended instead.
    return finish(deps, message, entry, written, log);
  }

  const status = decision.kind === 'success' ? JobStatus.completed : JobStatus.failed;
  if (status === JobStatus.failed) {
    // Dead-letter before recording: once the job reads 'failed', its
    // message is already in the archive.
    await deps.scheduler.deadLetter(message, entry.error?.code ?? 'failed');
  }
  const written = await storeOf(deps, message).recordAttempt(jobId, {
    attempt: entry,
    status,
    nextAttemptAt: null,
    callback,
    deadLettered: status === JobStatus.failed,
  });
  if (written === JobStatus.failed) deps.metrics?.deadLettered();
  return finish(deps, message, entry, written, log);
}

/** The job ended with `status` after attempt `entry`: count it, log it, deliver its callback. */
async function finish(
  deps: WorkerDeps,
  message: AttemptMessage,
  entry: Attempt,
  status: JobStatus,
  log: Logger,
): Promise<void> {
  deps.metrics?.jobFinished(status, Date.parse(message.createdAt), message.application);
  log.info({ attempt: entry.attempt, statusCode: entry.statusCode, error: entry.error?.code, status }, 'job finished');
  await deliverResult(deps, message, entry, status, log);
}
