import type { AttemptError } from '@relay/common';

/**
 * Pure retry decisions: no I/O, no clock or randomness of their own (both are
 * arguments), so every branch is unit-tested exactly.
 */

/** What one attempt produced, as far as the decision needs it. */
export interface AttemptResult {
  /** HTTP status, or null when no response arrived (network error, timeout). */
  statusCode: number | null;
  /** Response headers, lower-cased names. */
  headers: Record<string, string>;
  /** Set when no response arrived. */
  error: (AttemptError & { retryable: boolean }) | null;
}

export interface RetryOptions {
  /** Retries after the first attempt (the job's maxRetries). */
  maxRetries: number;
  /** Base delay in ms (the job's retryDelay). */
  retryDelay: number;
  /** Upper bound of a computed backoff (ms). */
  maxDelayMs: number;
  /** Upper bound of a server-requested Retry-After (ms). */
  retryAfterMaxMs: number;
}

/**
 * Why the receiver ended the retries itself: it sent `Relay-No-Retry`, or (a
 * callback URL) it answered 410 Gone.
 */
export type StopReason = 'no-retry-header' | 'gone';

export type Decision =
  | { kind: 'success' }
  | { kind: 'fail'; retryable: boolean; stop?: StopReason }
  | { kind: 'retry'; delayMs: number; retryAfterMs: number | null };

/** Statuses worth another try: the server may answer differently later. */
const RETRYABLE_STATUS = new Set([408, 425, 429]);

export function isSuccessStatus(statusCode: number): boolean {
  return statusCode >= 200 && statusCode < 300;
}

/**
 * Whether an attempt's outcome may succeed if tried again. 3xx are final:
 * redirects are not followed, because following them would let a target send
 * relay's request (and its credentials) to a host the client never named.
 */
export function isRetryable(result: AttemptResult): boolean {
  if (result.statusCode === null) return result.error?.retryable ?? true;
  return result.statusCode >= 500 || RETRYABLE_STATUS.has(result.statusCode);
}

/**
 * Receiver control, in the manner of QStash's `Upstash-NonRetryable-Error:
 * true` and Svix's `webhook-delivery: abort-message`: a target or callback
 * receiver that knows trying again is pointless (the order was cancelled, the
 * payload can never be valid) answers non-2xx with this header, and relay
 * stops at once instead of spending the retry budget. Lower case, as response
 * headers are recorded.
 */
export const NO_RETRY_HEADER = 'relay-no-retry';

/**
 * Whether a non-2xx answer carries `Relay-No-Retry: true` (or `1`, any case,
 * surrounding spaces ignored). Any other value, a 2xx, or no answer at all
 * (network error, timeout: the receiver said nothing) is not a stop.
 */
export function asksNoRetry(result: AttemptResult): boolean {
  if (result.statusCode === null || isSuccessStatus(result.statusCode)) return false;
  const value = result.headers[NO_RETRY_HEADER]?.trim().toLowerCase();
  return value === 'true' || value === '1';
}

/** Jitter of ±JITTER around the exponential delay. */
export const JITTER = 0.2;

/**
 * Delay before attempt `attemptsDone + 1`, after `attemptsDone` attempts:
 *
 *   delay = min(maxDelay, retryDelay × 2^(attemptsDone−1) × (1 + JITTER × (2·random − 1)))
 *
 * i.e. 1×, 2×, 4×… the base, each spread uniformly over ±20% so that jobs that
 * failed together do not retry in lock-step. `random` is in [0, 1).
 */
export function backoffDelayMs(attemptsDone: number, retryDelay: number, maxDelayMs: number, random: number): number {
  const exponent = Math.max(0, attemptsDone - 1);
  const base = retryDelay * 2 ** exponent;
  const jittered = base * (1 + JITTER * (2 * random - 1));
  return Math.round(Math.min(maxDelayMs, jittered));
}

/**
 * Parses a Retry-After value (RFC 9110 §10.2.3): delay-seconds or an
 * HTTP-date. Returns ms from `nowMs` (0 for a date in the past), or null when
 * the value is neither.
 */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | null {
  if (value === undefined) return null;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  // Only the date forms: Date.parse accepts looser strings such as "1".
  if (!/[a-z]{3},? /i.test(trimmed)) return null;
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return null;
  return Math.max(0, at - nowMs);
}

/**
 * What to do after attempt number `attemptsDone` produced `result`.
 * A Retry-After on 429 or 503 is honoured as a lower bound (capped at
 * retryAfterMaxMs): the wait is the longer of it and the backoff.
 */
export function decideNext(
  result: AttemptResult,
  attemptsDone: number,
  options: RetryOptions,
  random: number,
  nowMs: number,
): Decision {
  if (result.statusCode !== null && isSuccessStatus(result.statusCode)) return { kind: 'success' };
  if (asksNoRetry(result)) return { kind: 'fail', retryable: false, stop: 'no-retry-header' };
  const retryable = isRetryable(result);
  if (!retryable || attemptsDone > options.maxRetries) return { kind: 'fail', retryable };
  const backoff = backoffDelayMs(attemptsDone, options.retryDelay, options.maxDelayMs, random);
  let retryAfterMs: number | null = null;
  if (result.statusCode === 429 || result.statusCode === 503) {
    const requested = parseRetryAfter(result.headers['retry-after'], nowMs);
    if (requested !== null) retryAfterMs = Math.min(requested, options.retryAfterMaxMs);
  }
  return { kind: 'retry', delayMs: Math.max(backoff, retryAfterMs ?? 0), retryAfterMs };
}

export interface CallbackRetryOptions {
  /** Deliveries in all before giving up (CALLBACK_MAX_ATTEMPTS). */
  maxAttempts: number;
  /** Base of the backoff (CALLBACK_RETRY_DELAY_MS). */
  retryDelayMs: number;
  /** Upper bound of one delay (RETRY_MAX_DELAY_MS). */
  maxDelayMs: number;
}

/**
 * What to do after callback delivery number `delivery` produced `result`.
 * Unlike a target, a receiver's other 4xx answers are retried: they are
 * usually a receiver being deployed or misconfigured for a while, and
 * re-sending a callback has no side effect on the target. Final are only:
 * `Relay-No-Retry`, 410 Gone (the receiver says the URL is gone for good:
 * no later delivery can succeed), a network error that would repeat itself
 * (`retryable: false`, e.g. an address the SSRF guard refuses), and the last
 * delivery. Retry-After is not honoured for callbacks.
 */
export function decideCallback(
  result: AttemptResult,
  delivery: number,
  options: CallbackRetryOptions,
  random: number,
): Decision {
  if (result.statusCode !== null && isSuccessStatus(result.statusCode)) return { kind: 'success' };
  if (asksNoRetry(result)) return { kind: 'fail', retryable: false, stop: 'no-retry-header' };
  if (result.statusCode === 410) return { kind: 'fail', retryable: false, stop: 'gone' };
  const retryable = result.statusCode !== null || (result.error?.retryable ?? true);
  if (!retryable || delivery >= options.maxAttempts) return { kind: 'fail', retryable };
  const delayMs = backoffDelayMs(delivery, options.retryDelayMs, options.maxDelayMs, random);
  return { kind: 'retry', delayMs, retryAfterMs: null };
}
