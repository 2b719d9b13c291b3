import { randomUUID } from 'node:crypto';
import {
  pendingCallback,
  SealedHeadersError,
  JobStatus,
  type Attempt,
  type AttemptMessage,
  type JobSpec,
  type Logger,
  type Webhooks,
} from '@relay/common';
import { deliverPendingResultAfterCrash, deliverResult } from '../callback/inline-delivery.js';
import { storeOf, type WorkerDeps } from '../deps.js';
import { retryWrite, type AttemptOutcome } from '../held-outcomes.js';
import { outcomeError } from '../http/error-classification.js';
import { sendHttp } from '../http/http-call.js';
import {
  cancelledBeforeEvent,
  effectiveWebhooks,
  emitJobEvents,
  endEvents,
  retryingEvent,
  startedEvent,
} from '../events/job-events.js';
import { decideNext } from '../retry-policy.js';
import { reemitRecordedStep } from './reemit-events.js';
import { recordedResponse } from './recorded-response.js';
import { targetRequest } from './target-request.js';
import { uncalledAttempt } from './uncalled-attempt.js';

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

/** The host part of a target URL, for per-destination counts; the spec was validated, so it parses. */
function targetHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'invalid';
  }
}

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
  // This worker made the call already but could not record it: record it, never call again.
  const held = deps.heldAttempts?.get(heldKey(message));
  if (held) return settleAttempt(deps, message, held, held.webhooks, log);
  const lease = { token: randomUUID(), ms: attemptTimeoutMs(deps, message.spec) + LEASE_GRACE_MS };
  const cancelCallback = message.spec.callbackUrl ? pendingCallback() : null;
  let begin = await storeOf(deps, message).beginAttempt(jobId, n, lease, undefined, cancelCallback);
  if (begin.outcome === 'missing') {
    // Expired, or lost with a Redis restart: the message is the durable copy.
    log.warn({ attempt: n }, 'job record missing; recreating it from the message');
    begin = await storeOf(deps, message).beginAttempt(
      jobId,
      n,
      lease,
      { spec: message.spec, createdAt: message.createdAt },
      cancelCallback,
    );
  }

  switch (begin.outcome) {
    case 'final':
      // A redelivery after the job ended: make sure its events and its callback went out.
      await reemitRecordedStep(deps, message, begin, log);
      return deliverPendingResultAfterCrash(deps, message, log);
    case 'stale':
      await reemitRecordedStep(deps, message, begin, log);
      // Attempt n is already recorded. If the crash came between recording it
      // and scheduling attempt n+1, schedule it now. Once n+1 is marked as
      // scheduled, a stale copy of n publishes nothing: chains never fork.
      if (begin.status === JobStatus.retrying && begin.attemptsDone === n && begin.scheduled <= n) {
        const dueAt = begin.nextAttemptAt ? Date.parse(begin.nextAttemptAt) : deps.now();
        await scheduleNext(deps, message, dueAt);
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
    case 'cancelled':
      // A cancel requested during an earlier, unfinished attempt: the job ends
      // here without calling the target, and its callback goes out.
      log.info({ attempt: n }, 'cancel requested before this attempt; job cancelled');
      deps.metrics?.jobFinished(JobStatus.cancelled, Date.parse(message.createdAt), message.application);
      await emitJobEvents(deps, message, effectiveWebhooks(begin.webhooks, message.spec), [
        cancelledBeforeEvent(begin.attemptsDone),
      ]);
      return deliverPendingResultAfterCrash(deps, message, log);
    case 'missing':
      throw new Error('job record could not be recreated');
    case 'run': {
      const webhooks = effectiveWebhooks(begin.webhooks, message.spec);
      // Before the call: a receiver hears of the attempt before its outcome.
      await emitJobEvents(deps, message, webhooks, [startedEvent(n)]);
      return runAttempt(deps, message, webhooks, log);
    }
  }
}

async function runAttempt(
  deps: WorkerDeps,
  message: AttemptMessage,
  webhooks: Webhooks | null,
  log: Logger,
): Promise<void> {
  const { spec, attempt: n, jobId } = message;
  let request: Awaited<ReturnType<typeof targetRequest>>;
  try {
    request = await targetRequest(deps, message);
  } catch (err) {
    if (!(err instanceof SealedHeadersError)) throw err;
    return failUnreadableCredentials(deps, message, err, webhooks, log);
  }
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
  deps.metrics?.attempt(entry, decision.kind, {
    application: message.application,
    host: targetHost(message.spec.targetUrl),
  });

  const outcome: AttemptOutcome =
    decision.kind === 'retry'
      ? { entry, dueAt: deps.now() + decision.delayMs, webhooks }
      : { entry, status: decision.kind === 'success' ? JobStatus.completed : JobStatus.failed, webhooks };
  // Held until recorded: a write that fails never makes the target be called again.
  deps.heldAttempts?.hold(heldKey(message), outcome);
  await settleAttempt(deps, message, outcome, webhooks, log);
}

/**
 * Ends a job whose sealed credential headers do not open, without calling
 * its target: every worker would fail the same way, so retrying (or treating
 * the message as poison) only delays the answer. The attempt is recorded
 * with RELAY_ERR_CREDENTIALS_UNREADABLE and the job fails, is dead-lettered
 * and gets its callback like any failed job; once the missing key is in
 * RELAY_SECRET_KEYS_PREVIOUS it can be replayed.
 */
async function failUnreadableCredentials(
  deps: WorkerDeps,
  message: AttemptMessage,
  err: SealedHeadersError,
  webhooks: Webhooks | null,
  log: Logger,
): Promise<void> {
  log.error({ attempt: message.attempt, code: err.code, err: err.message }, 'sealed credential headers do not open');
  const entry = uncalledAttempt(message.attempt, deps.now(), { code: err.code, message: err.message });
  deps.metrics?.attempt(entry, 'fail');
  const outcome: AttemptOutcome = { entry, status: JobStatus.failed, webhooks };
  deps.heldAttempts?.hold(heldKey(message), outcome);
  await settleAttempt(deps, message, outcome, webhooks, log);
}

function heldKey(message: AttemptMessage): string {
  return `${message.jobId}:${message.attempt}`;
}

/** Publishes attempt n+1 and marks it scheduled, so that stale copies of attempt n drop out. */
async function scheduleNext(deps: WorkerDeps, message: AttemptMessage, dueAt: number): Promise<void> {
  await deps.scheduler.schedule({ ...message, attempt: message.attempt + 1, dueAt });
  await storeOf(deps, message)
    .markScheduled(message.jobId, message.attempt + 1)
    .catch(() => undefined);
}

/** Records the outcome of a call (retrying the write, never the call) and does what comes next. */
async function settleAttempt(
  deps: WorkerDeps,
  message: AttemptMessage,
  outcome: AttemptOutcome,
  webhooks: Webhooks | null | undefined,
  log: Logger,
): Promise<void> {
  const { jobId, attempt: n, spec } = message;
  const effective = webhooks ?? effectiveWebhooks(null, spec);
  const { entry } = outcome;
  const record = (r: Parameters<ReturnType<typeof storeOf>['recordAttempt']>[1]) =>
    retryWrite(() => storeOf(deps, message).recordAttempt(jobId, r), log, 'attempt record');
  const callback = spec.callbackUrl ? pendingCallback() : null;
  if ('dueAt' in outcome) {
    const { dueAt } = outcome;
    // Record first, then schedule: a crash in between is repaired by the
    // 'stale' branch above when this message is redelivered.
    const recorded = await record({
      attempt: entry,
      status: JobStatus.retrying,
      nextAttemptAt: new Date(dueAt).toISOString(),
      callback,
      deadLettered: false,
    });
    deps.heldAttempts?.release(heldKey(message));
    if (!recorded.written) return superseded(message, recorded.status, log);
    if (recorded.status === JobStatus.retrying) {
      await scheduleNext(deps, message, dueAt);
      await emitJobEvents(deps, message, effective, [retryingEvent(entry, new Date(dueAt).toISOString())]);
      deps.metrics?.retryScheduled();
      log.info(
        { attempt: n, statusCode: entry.statusCode, error: entry.error?.code, delayMs: dueAt - deps.now() },
        'attempt failed; retry scheduled',
      );
      return;
    }
    // A cancel arrived during the attempt: the job ended instead.
    return finish(deps, message, entry, recorded.status, effective, log);
  }

  const { status } = outcome;
  if (status === JobStatus.failed) {
    // Dead-letter before recording: once the job reads 'failed', its
    // message is already in the archive.
    await deps.scheduler.deadLetter(message, entry.error?.code ?? 'failed');
  }
  const recorded = await record({
    attempt: entry,
    status,
    nextAttemptAt: null,
    callback,
    deadLettered: status === JobStatus.failed,
  });
  deps.heldAttempts?.release(heldKey(message));
  if (!recorded.written) return superseded(message, recorded.status, log);
  if (recorded.status === JobStatus.failed) deps.metrics?.deadLettered();
  return finish(deps, message, entry, recorded.status, effective, log);
}

/**
 * The job ended otherwise while this attempt ran (a cancel after its lease
 * expired), or a later attempt moved it on: this outcome was not recorded,
 * and whatever ended or moved the job owns what comes next.
 */
function superseded(message: AttemptMessage, status: JobStatus, log: Logger): void {
  log.info({ attempt: message.attempt, status }, 'attempt outcome not recorded: the job had moved on');
}

/** The job ended with `status` after attempt `entry`: count it, log it, emit its events, deliver its callback. */
async function finish(
  deps: WorkerDeps,
  message: AttemptMessage,
  entry: Attempt,
  status: JobStatus,
  webhooks: Webhooks | null,
  log: Logger,
): Promise<void> {
  deps.metrics?.jobFinished(status, Date.parse(message.createdAt), message.application);
  log.info({ attempt: entry.attempt, statusCode: entry.statusCode, error: entry.error?.code, status }, 'job finished');
  // Before the callback, whose inline delivery may take its whole timeout:
  // publishing the events is one confirmed publish.
  await emitJobEvents(deps, message, webhooks, endEvents(entry, status));
  await deliverResult(deps, message, entry, status, log);
}
