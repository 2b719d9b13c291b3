import type { Attempt, JobStatus } from '@relay/common';

/**
 * What the attempt and callback flows report to. The flows declare these
 * small interfaces and know nothing else of metrics; metrics/adapters.ts
 * implements them over prom-client.
 */

/** The retry policy's decision about one attempt. */
export type AttemptDecisionKind = 'success' | 'retry' | 'fail';

/** The outcome of one callback delivery. */
export type CallbackOutcome = 'delivered' | 'retry_scheduled' | 'failed';

/** What the attempt flow reports. */
/** Whose attempt it was and where it went (the console's per-destination lists). */
export interface AttemptContext {
  application: string;
  /** The target URL's host (name or address, with the port when not the default). */
  host: string;
}

export interface AttemptMetrics {
  attempt(entry: Attempt, decision: AttemptDecisionKind, context?: AttemptContext): void;
  retryScheduled(): void;
  deadLettered(): void;
  /** `application`: the owning application's id, a label of the finished-jobs counter. */
  jobFinished(status: JobStatus, createdAtMs: number, application: string): void;
}

/** What the callback flow reports. */
export interface CallbackMetrics {
  callback(outcome: CallbackOutcome): void;
}
