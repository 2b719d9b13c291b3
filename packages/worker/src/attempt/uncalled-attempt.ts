import type { Attempt, AttemptError } from '@relay/common';

/**
 * The record of an attempt that ended before its target was called: the
 * worker decided on its own that the job cannot run (a poison message,
 * credentials that do not open). Never retryable: the same message fails
 * the same way on every worker.
 */
export function uncalledAttempt(attempt: number, nowMs: number, error: AttemptError): Attempt {
  return {
    attempt,
    startedAt: new Date(nowMs).toISOString(),
    durationMs: 0,
    statusCode: null,
    success: false,
    response: null,
    error,
    retryable: false,
  };
}
