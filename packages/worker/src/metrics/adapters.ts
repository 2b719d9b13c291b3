import { ErrorCodes, JobStatus, type Attempt } from '@relay/common';
import type { EventMetrics } from '../events/event-deps.js';
import type { AttemptDecisionKind, AttemptMetrics, CallbackMetrics } from '../ports.js';
import type { AttemptOutcome, StatusClass, WorkerMetrics } from './definitions.js';

/**
 * The `status_class` label of an attempt: `timeout` for RELAY_ERR_TIMEOUT,
 * `network` for any other attempt without an answer, else the status range.
 */
export function statusClass(statusCode: number | null, errorCode: string | null): StatusClass {
  if (errorCode === ErrorCodes.TIMEOUT.code) return 'timeout';
  if (statusCode === null) return 'network';
  if (statusCode >= 200 && statusCode < 300) return '2xx';
  if (statusCode >= 300 && statusCode < 400) return '3xx';
  if (statusCode >= 400 && statusCode < 500) return '4xx';
  if (statusCode >= 500 && statusCode < 600) return '5xx';
  return 'other';
}

const OUTCOME_OF_DECISION: Record<AttemptDecisionKind, AttemptOutcome> = {
  success: 'success',
  retry: 'retryable_failure',
  fail: 'final_failure',
};

const FINISHED: ReadonlySet<string> = new Set<string>([JobStatus.completed, JobStatus.failed, JobStatus.cancelled]);

/** The attempt flow's AttemptMetrics port, recorded in `metrics`. */
export function attemptMetrics(metrics: WorkerMetrics, now: () => number = Date.now): AttemptMetrics {
  return {
    attempt(entry: Attempt, decision) {
      const outcome = OUTCOME_OF_DECISION[decision];
      metrics.attempts.inc({ outcome, status_class: statusClass(entry.statusCode, entry.error?.code ?? null) });
      metrics.attemptDuration.observe({ outcome }, entry.durationMs / 1000);
    },
    retryScheduled: () => metrics.retriesScheduled.inc(),
    deadLettered: () => metrics.deadLettered.inc(),
    jobFinished(status, createdAtMs, application) {
      if (!FINISHED.has(status)) return;
      metrics.jobsFinished.inc({ status, application });
      // An unreadable createdAt gives NaN, a clock step a negative age: count the job, skip its latency.
      const seconds = (now() - createdAtMs) / 1000;
      if (Number.isFinite(seconds) && seconds >= 0) metrics.endToEndLatency.observe({ status }, seconds);
    },
  };
}

/** The callback flow's CallbackMetrics port, recorded in `metrics`. */
export function callbackMetrics(metrics: WorkerMetrics): CallbackMetrics {
  return { callback: (outcome) => metrics.callbacks.inc({ outcome }) };
}

/** The event delivery's EventMetrics port, recorded in `metrics`. */
export function eventMetrics(metrics: WorkerMetrics): EventMetrics {
  return { eventDelivery: (outcome) => metrics.eventDeliveries.inc({ outcome }) };
}
