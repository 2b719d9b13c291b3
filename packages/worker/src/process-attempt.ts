import { randomUUID } from 'node:crypto';
import type { Dispatcher } from 'undici';
import {
  callbackBodyFromJob,
  callbackMessage,
  CallbackStatus,
  pendingCallback,
  JobStatus,
  type Attempt,
  type AttemptMessage,
  type CallbackBody,
  type CallbackMessage,
  type HeaderRedactor,
  type JobSpec,
  type JobStore,
  type Logger,
  type StoredResponse,
  randomHex,
} from '@relay/common';
import { deliverCallback, type CallbackDeps } from './callback-delivery.js';
import { outcomeError } from './error-classification.js';
import { sendHttp } from './http-call.js';
import { decideNext } from './retry-policy.js';
import type { Scheduler } from './scheduler.js';
import type { SigningLookup } from './signing-secrets.js';
import { signWebhook, withWebhookHeaders } from './webhook-signature.js';

export interface AttemptDeps {
  store: JobStore;
  scheduler: Scheduler;
  dispatcher: Dispatcher;
  callbacks: CallbackDeps;
  bodyCap: number;
  /** ATTEMPT_TIMEOUT_MAX_MS: a job's timeout above it is clamped to it. */
  attemptTimeoutMaxMs: number;
  /** Redacts credential headers of target responses before they are recorded (RELAY_REDACT_HEADERS). */
  redactor: HeaderRedactor;
  maxDelayMs: number;
  retryAfterMaxMs: number;
  random: () => number;
  now: () => number;
  /** The secrets of the job's application; target requests are signed when it asks for it. */
  signing: SigningLookup;
  metrics?: AttemptMetrics;
}

/** What the attempt flow reports to metrics (implemented over prom-client in metrics.ts). */
export interface AttemptMetrics {
  attempt(entry: Attempt, decision: 'success' | 'retry' | 'fail'): void;
  retryScheduled(): void;
  deadLettered(): void;
  /** `application`: the owning application's id, a label of the finished-jobs counter. */
  jobFinished(status: JobStatus, createdAtMs: number, application: string): void;
}

/**
 * How much longer than its own timeout an attempt keeps the job's lease. A
 * copy of the same message that arrives while the lease is held waits (in a
 * delay tier) instead of calling the target a second time.
 */
const LEASE_GRACE_MS = 5000;

/** The deadline of one attempt: the job's timeout, never above the worker's ceiling. */
function attemptTimeoutMs(deps: AttemptDeps, spec: JobSpec): number {
  return Math.min(spec.timeout, deps.attemptTimeoutMaxMs);
}

/**
 * A target's answer as it is recorded (Redis, API, callback body): a
 * `set-cookie` or any other credential header the target sent is redacted,
 * like the job's own.
 */
function recordedResponse(deps: AttemptDeps, response: StoredResponse | null): StoredResponse | null {
  return response && { ...response, headers: deps.redactor.redact(endToEndHeaders(response.headers)) };
}

/**
 * Hop-by-hop headers (RFC 9110 §7.6.1) describe the connection to relay, not
 * the target's answer: not worth a byte of every stored attempt.
 */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'proxy-connection',
]);

function endToEndHeaders(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) if (!HOP_BY_HOP.has(name)) out[name] = value;
  return out;
}

/** Methods that get `payload` as a JSON body (when the payload is not null). */
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export function buildTargetRequest(spec: JobSpec): { headers: Record<string, string>; body: string | null } {
  // Header names are case-insensitive: a job's `User-Agent` must replace the
  // default, not be sent alongside it.
  const has = (name: string) => Object.keys(spec.headers).some((h) => h.toLowerCase() === name);
  const headers: Record<string, string> = has('user-agent')
    ? { ...spec.headers }
    : { 'user-agent': 'relay/0.1', ...spec.headers };
  let body: string | null = null;
  if (BODY_METHODS.has(spec.method) && spec.payload !== null && spec.payload !== undefined) {
    body = JSON.stringify(spec.payload);
    if (!has('content-type')) headers['content-type'] = 'application/json';
  }
  return { headers, body };
}

/**
 * Handles one attempt message end to end. Resolves when the message may be
 * acked: the attempt is recorded and whatever comes next (a retry, a callback)
 * is either done or safely on the broker. Throws when a backing service
 * failed; the caller then defers the message.
 */
/** The job store of the application that owns the message's job. */
function storeOf(deps: AttemptDeps, message: AttemptMessage | CallbackMessage): JobStore {
  return deps.store.forApplication(message.application);
}

export async function processAttempt(deps: AttemptDeps, message: AttemptMessage, log: Logger): Promise<void> {
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
      return finishCallbackAfterCrash(deps, message, log);
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
      await deps.scheduler.schedule({ ...message, dueAt: deps.now() + begin.leaseRemainingMs + 50 });
      return;
    case 'missing':
      throw new Error('job record could not be recreated');
    case 'run':
      return runAttempt(deps, message, log);
  }
}

/** `traceparent` for one attempt: the job's trace, a fresh span (W3C Trace Context). */
export function traceparent(traceId: string): string {
  return `00-${traceId}-${randomHex(8)}-01`;
}

/**
 * The `webhook-id` of a job's signed target requests: one id for all its
 * attempts, replays included, since each one re-sends the same request.
 */
export function targetWebhookId(jobId: string): string {
  return `msg_${jobId}`;
}

/** The target request's headers, signed (Standard Webhooks) when the application signs target requests. */
async function signedTargetHeaders(
  deps: AttemptDeps,
  message: AttemptMessage,
  headers: Record<string, string>,
  body: string | null,
): Promise<Record<string, string>> {
  const signing = await deps.signing.get(message.application);
  if (!signing?.signTargetRequests || signing.secrets.length === 0) return headers;
  // A request without a body (a GET) is signed over the empty string.
  const signed = signWebhook({
    id: targetWebhookId(message.jobId),
    timestamp: Math.floor(deps.now() / 1000),
    body: body ?? '',
    secrets: signing.secrets,
  });
  return withWebhookHeaders(headers, signed);
}

async function runAttempt(deps: AttemptDeps, message: AttemptMessage, log: Logger): Promise<void> {
  const { spec, attempt: n, jobId } = message;
  const request = buildTargetRequest(spec);
  if (message.traceId) request.headers.traceparent = traceparent(message.traceId);
  const headers = await signedTargetHeaders(deps, message, request.headers, request.body);
  const result = await sendHttp(deps.dispatcher, {
    url: spec.targetUrl,
    method: spec.method,
    headers,
    body: request.body,
    timeoutMs: attemptTimeoutMs(deps, spec),
    bodyCap: deps.bodyCap,
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
    response: recordedResponse(deps, result.response),
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

/** The job ended with `status` after attempt `entry`: report it to the callback URL, if any. */
async function finish(
  deps: AttemptDeps,
  message: AttemptMessage,
  entry: Attempt,
  status: JobStatus,
  log: Logger,
): Promise<void> {
  const { spec, jobId } = message;
  deps.metrics?.jobFinished(status, Date.parse(message.createdAt), message.application);
  log.info({ attempt: entry.attempt, statusCode: entry.statusCode, error: entry.error?.code, status }, 'job finished');
  if (!spec.callbackUrl) return;
  const cbBody: CallbackBody = {
    jobId,
    status,
    success: status === JobStatus.completed,
    attempts: entry.attempt,
    statusCode: entry.statusCode,
    response: entry.response,
    error: entry.error,
    completedAt: new Date(deps.now()).toISOString(),
    targetUrl: spec.targetUrl,
    method: spec.method,
  };
  await deliverCallback(deps.callbacks, callbackMessage(jobId, spec.callbackUrl, cbBody, 1, message.application), log);
}

/**
 * The job ended but this message was not acked (the worker died after
 * recording the end). If the callback never got past `pending`, deliver it
 * now; `retrying` means a callback message is already on the broker.
 */
async function finishCallbackAfterCrash(deps: AttemptDeps, message: AttemptMessage, log: Logger): Promise<void> {
  if (!message.spec.callbackUrl) return;
  const job = await storeOf(deps, message).get(message.jobId);
  // Only an inline delivery that never completed; a delivery handed to the
  // broker (nextAttemptAt set) is owned by its message.
  if (!job || job.callback?.status !== CallbackStatus.pending || job.callback.nextAttemptAt) return;
  log.info('job already finished; delivering its pending callback');
  const delivery = job.callback.attempts + 1;
  await deliverCallback(
    deps.callbacks,
    callbackMessage(job.jobId, message.spec.callbackUrl, callbackBodyFromJob(job), delivery, message.application),
    log,
  );
}

/** Handles a callback message taken from the queue (deliveries 2 and later). */
export async function processCallback(deps: AttemptDeps, message: CallbackMessage, log: Logger): Promise<void> {
  const state = await storeOf(deps, message).getCallback(message.jobId);
  if (state && (state.status === CallbackStatus.delivered || state.status === CallbackStatus.failed)) {
    log.debug({ delivery: message.delivery }, 'callback already settled; duplicate dropped');
    return;
  }
  await deliverCallback(deps.callbacks, message, log);
}
