import type { Dispatcher } from 'undici';
import type { AttemptMessage, CallbackMessage, EventEmitter, HeaderRedactor, JobStore } from '@relay/common';
import type { AttemptOutcome, HeldCallback, HeldOutcomes } from './held-outcomes.js';
import type { AttemptMetrics, CallbackMetrics } from './ports.js';
import type { Scheduler } from './scheduler.js';
import type { SigningLookup } from './signing/signing-secrets.js';

/**
 * Everything the attempt and callback flows use, wired once in worker.ts.
 * The attempt flow takes all of it (it delivers the result callback too);
 * the callback flow takes the part it reads (CallbackDeps).
 */
export interface WorkerDeps {
  store: JobStore;
  scheduler: Scheduler;
  /** Outbound HTTP for targets and callbacks alike. */
  dispatcher: Dispatcher;
  /** The secrets of the job's application: callbacks are signed when it has any, target requests when it asks. */
  signing: SigningLookup;
  /** Redacts credential headers of target responses before they are recorded (RELAY_REDACT_HEADERS). */
  redactor: HeaderRedactor;
  random: () => number;
  now: () => number;
  /** RESPONSE_BODY_MAX_BYTES: bytes of a target's answer kept per attempt. */
  bodyCap: number;
  /** JSON_MAX_DEPTH: a target's JSON answer nested deeper is recorded as its text. */
  jsonMaxDepth?: number;
  /** ATTEMPT_TIMEOUT_MAX_MS: a job's timeout above it is clamped to it. */
  attemptTimeoutMaxMs: number;
  /** RETRY_MAX_DELAY_MS: upper bound of one backoff delay, attempts and callbacks alike. */
  maxDelayMs: number;
  /** RETRY_AFTER_MAX_MS: upper bound of a target's Retry-After. */
  retryAfterMaxMs: number;
  /** CALLBACK_MAX_ATTEMPTS. */
  callbackMaxAttempts: number;
  /** CALLBACK_RETRY_DELAY_MS: base of the callback backoff. */
  callbackRetryDelayMs: number;
  /** CALLBACK_TIMEOUT_MS: deadline of one delivery. */
  callbackTimeoutMs: number;
  metrics?: AttemptMetrics & CallbackMetrics;
  /**
   * Emits the job's lifecycle events (events/job-events.ts); none are
   * emitted without it.
   */
  events?: EventEmitter;
  /** Attempt outcomes not yet recorded (held-outcomes.ts). */
  heldAttempts?: HeldOutcomes<AttemptOutcome>;
  /** Callback outcomes not yet recorded (held-outcomes.ts). */
  heldCallbacks?: HeldOutcomes<HeldCallback>;
}


/** What delivering a callback reads. */
export type CallbackDeps = Pick<
  WorkerDeps,
  | 'store'
  | 'scheduler'
  | 'dispatcher'
  | 'signing'
  | 'random'
  | 'now'
  | 'bodyCap'
  | 'maxDelayMs'
  | 'callbackMaxAttempts'
  | 'callbackRetryDelayMs'
  | 'callbackTimeoutMs'
  | 'heldCallbacks'
> & { metrics?: CallbackMetrics };

/** The job store of the application that owns the message's job. */
export function storeOf(deps: Pick<WorkerDeps, 'store'>, message: AttemptMessage | CallbackMessage): JobStore {
  return deps.store.forApplication(message.application);
}
