import { describe, expect, it } from 'vitest';
import {
  asksNoRetry,
  backoffDelayMs,
  decideCallback,
  decideNext,
  isRetryable,
  isSuccessStatus,
  parseRetryAfter,
  type AttemptResult,
  type RetryOptions,
} from '../src/retry-policy.js';

const NOW = Date.parse('2025-01-01T12:00:00Z');
/** The largest double below 1: what Math.random() can return at most. */
const ALMOST_ONE = 1 - Number.EPSILON / 2;

function status(statusCode: number, headers: Record<string, string> = {}): AttemptResult {
  return { statusCode, headers, error: null };
}

function networkError(retryable: boolean): AttemptResult {
  return {
    statusCode: null,
    headers: {},
    error: { code: 'RELAY_ERR_NETWORK', message: 'refused', systemCode: 'ECONNREFUSED', retryable },
  };
}

const options: RetryOptions = { maxRetries: 3, retryDelay: 1000, maxDelayMs: 60_000, retryAfterMaxMs: 30_000 };

describe('isSuccessStatus', () => {
  it.each([200, 201, 204, 299])('%i is a success', (code) => {
    expect(isSuccessStatus(code)).toBe(true);
  });

  it.each([100, 199, 300, 302, 304, 400, 404, 500])('%i is not a success', (code) => {
    expect(isSuccessStatus(code)).toBe(false);
  });
});

describe('isRetryable', () => {
  it.each([408, 425, 429, 500, 502, 503, 504, 599])('status %i is retryable', (code) => {
    expect(isRetryable(status(code))).toBe(true);
  });

  // 3xx are final: redirects are not followed, so asking again gives the same answer.
  it.each([300, 301, 302, 304, 307, 400, 401, 403, 404, 405, 409, 410, 413, 422, 426, 451])(
    'status %i is not retryable',
    (code) => {
      expect(isRetryable(status(code))).toBe(false);
    },
  );

  it('follows the retryable flag of a network error', () => {
    expect(isRetryable(networkError(true))).toBe(true);
    expect(isRetryable(networkError(false))).toBe(false);
  });
});

describe('backoffDelayMs', () => {
  // delay = min(maxDelay, retryDelay × 2^(n−1) × (1 + 0.2 × (2r − 1)))
  it.each([
    // attemptsDone, retryDelay, random, expected
    [1, 1000, 0.5, 1000],
    [2, 1000, 0.5, 2000],
    [3, 1000, 0.5, 4000],
    [4, 1000, 0.5, 8000],
    [1, 1000, 0, 800],
    [3, 1000, 0, 3200],
    [1, 1000, ALMOST_ONE, 1200],
    [3, 1000, ALMOST_ONE, 4800],
    [2, 250, 0.75, 550], // 500 × 1.1
    [1, 100, 0.25, 90], // 100 × 0.9
  ])('after %i attempt(s) with base %i and random %f: %i ms', (n, base, random, expected) => {
    expect(backoffDelayMs(n, base, 1_000_000, random)).toBe(expected);
  });

  it('treats attemptsDone 0 like 1 (no negative exponent)', () => {
    expect(backoffDelayMs(0, 1000, 1_000_000, 0.5)).toBe(1000);
  });

  it('is capped at maxDelayMs, whatever the jitter', () => {
    expect(backoffDelayMs(10, 1000, 60_000, 0.5)).toBe(60_000); // 512 000 uncapped
    expect(backoffDelayMs(10, 1000, 60_000, 0)).toBe(60_000);
    expect(backoffDelayMs(10, 1000, 60_000, ALMOST_ONE)).toBe(60_000);
    // Just above the cap with jitter, below it without.
    expect(backoffDelayMs(1, 1000, 1100, ALMOST_ONE)).toBe(1100);
    expect(backoffDelayMs(1, 1000, 1100, 0.5)).toBe(1000);
  });

  it('stays within ±20% of the exponential base for any random in [0, 1)', () => {
    for (let n = 1; n <= 8; n++) {
      const base = 500 * 2 ** (n - 1);
      for (let r = 0; r < 1; r += 0.05) {
        const d = backoffDelayMs(n, 500, Number.MAX_SAFE_INTEGER, r);
        expect(d).toBeGreaterThanOrEqual(Math.round(base * 0.8));
        expect(d).toBeLessThanOrEqual(Math.round(base * 1.2));
      }
    }
  });

  it('returns whole milliseconds', () => {
    expect(Number.isInteger(backoffDelayMs(2, 333, 1_000_000, 0.123))).toBe(true);
  });
});

describe('parseRetryAfter', () => {
  it.each([
    ['0', 0],
    ['1', 1000],
    ['120', 120_000],
    ['  5  ', 5000],
  ])('delay-seconds %j -> %i ms', (value, expected) => {
    expect(parseRetryAfter(value, NOW)).toBe(expected);
  });

  it('reads an HTTP-date in the future as the time until it', () => {
    const at = new Date(NOW + 90_000).toUTCString(); // IMF-fixdate, e.g. "Wed, 01 Jan 2025 12:01:30 GMT"
    expect(parseRetryAfter(at, NOW)).toBe(90_000);
  });

  it('reads the obsolete RFC 850 date form too', () => {
    expect(parseRetryAfter('Wednesday, 01-Jan-25 12:00:30 GMT', NOW)).toBe(30_000);
  });

  it('reads an HTTP-date in the past as 0', () => {
    expect(parseRetryAfter(new Date(NOW - 60_000).toUTCString(), NOW)).toBe(0);
  });

  it.each(['', 'soon', '-1', '1.5', '10s', '1e3', '2025-01-01T12:01:00Z', 'Foo, 99 Bar 2025 99:99:99 GMT'])(
    'garbage %j -> null',
    (value) => {
      expect(parseRetryAfter(value, NOW)).toBeNull();
    },
  );

  it('undefined (no header) -> null', () => {
    expect(parseRetryAfter(undefined, NOW)).toBeNull();
  });
});

describe('decideNext', () => {
  it.each([200, 201, 204])('succeeds on %i, even on the last attempt', (code) => {
    expect(decideNext(status(code), 1, options, 0.5, NOW)).toEqual({ kind: 'success' });
    expect(decideNext(status(code), options.maxRetries + 1, options, 0.5, NOW)).toEqual({ kind: 'success' });
  });

  it.each([302, 400, 404, 422])('fails at once, not retryable, on %i', (code) => {
    expect(decideNext(status(code), 1, options, 0.5, NOW)).toEqual({ kind: 'fail', retryable: false });
  });

  it('fails at once on a non-retryable network error', () => {
    expect(decideNext(networkError(false), 1, options, 0.5, NOW)).toEqual({ kind: 'fail', retryable: false });
  });

  it('retries a retryable network error with the backoff', () => {
    expect(decideNext(networkError(true), 2, options, 0.5, NOW)).toEqual({
      kind: 'retry',
      delayMs: 2000,
      retryAfterMs: null,
    });
  });

  it('makes exactly maxRetries + 1 attempts in all', () => {
    const kinds: string[] = [];
    for (let n = 1; n <= options.maxRetries + 1; n++) kinds.push(decideNext(status(500), n, options, 0.5, NOW).kind);
    expect(kinds).toEqual(['retry', 'retry', 'retry', 'fail']);
    // The failure after the last attempt still says the outcome itself was retryable.
    expect(decideNext(status(500), options.maxRetries + 1, options, 0.5, NOW)).toEqual({
      kind: 'fail',
      retryable: true,
    });
  });

  it('with maxRetries 0 fails after the first attempt', () => {
    expect(decideNext(status(503), 1, { ...options, maxRetries: 0 }, 0.5, NOW)).toEqual({
      kind: 'fail',
      retryable: true,
    });
  });

  it('uses the jittered, capped backoff as the delay', () => {
    expect(decideNext(status(500), 3, options, 0, NOW)).toEqual({ kind: 'retry', delayMs: 3200, retryAfterMs: null });
    const capped = { ...options, maxRetries: 10, maxDelayMs: 5000 };
    expect(decideNext(status(500), 8, capped, 0.5, NOW)).toEqual({ kind: 'retry', delayMs: 5000, retryAfterMs: null });
  });

  describe('Retry-After', () => {
    it.each([429, 503])('on %i, a longer Retry-After wins over the backoff', (code) => {
      const d = decideNext(status(code, { 'retry-after': '7' }), 1, options, 0.5, NOW);
      expect(d).toEqual({ kind: 'retry', delayMs: 7000, retryAfterMs: 7000 });
    });

    it.each([429, 503])('on %i, a shorter Retry-After is only a lower bound: the backoff wins', (code) => {
      const d = decideNext(status(code, { 'retry-after': '1' }), 3, options, 0.5, NOW);
      expect(d).toEqual({ kind: 'retry', delayMs: 4000, retryAfterMs: 1000 });
    });

    it('is capped at retryAfterMaxMs', () => {
      const d = decideNext(status(429, { 'retry-after': '3600' }), 1, options, 0.5, NOW);
      expect(d).toEqual({ kind: 'retry', delayMs: 30_000, retryAfterMs: 30_000 });
    });

    it('accepts an HTTP-date', () => {
      const at = new Date(NOW + 12_000).toUTCString();
      const d = decideNext(status(503, { 'retry-after': at }), 1, options, 0.5, NOW);
      expect(d).toEqual({ kind: 'retry', delayMs: 12_000, retryAfterMs: 12_000 });
    });

    it('is ignored when unparsable', () => {
      const d = decideNext(status(429, { 'retry-after': 'later' }), 1, options, 0.5, NOW);
      expect(d).toEqual({ kind: 'retry', delayMs: 1000, retryAfterMs: null });
    });

    it.each([500, 502, 408])('is ignored on %i', (code) => {
      const d = decideNext(status(code, { 'retry-after': '20' }), 1, options, 0.5, NOW);
      expect(d).toEqual({ kind: 'retry', delayMs: 1000, retryAfterMs: null });
    });

    it('does not extend the number of attempts', () => {
      const d = decideNext(status(429, { 'retry-after': '5' }), options.maxRetries + 1, options, 0.5, NOW);
      expect(d).toEqual({ kind: 'fail', retryable: true });
    });
  });
});

describe('asksNoRetry (Relay-No-Retry)', () => {
  it.each(['true', '1', 'TRUE', 'True', ' true ', '1 '])('stops on a non-2xx with the value %j', (value) => {
    expect(asksNoRetry(status(503, { 'relay-no-retry': value }))).toBe(true);
  });

  it.each(['false', '0', 'yes', '', 'true, true', 'truthy'])('does not stop on the value %j', (value) => {
    expect(asksNoRetry(status(503, { 'relay-no-retry': value }))).toBe(false);
  });

  it.each([400, 404, 429, 500, 502, 503, 302])('applies to any non-2xx: %i', (code) => {
    expect(asksNoRetry(status(code, { 'relay-no-retry': 'true' }))).toBe(true);
  });

  it.each([200, 201, 204])('is irrelevant on a 2xx: %i', (code) => {
    expect(asksNoRetry(status(code, { 'relay-no-retry': 'true' }))).toBe(false);
  });

  it('is not a stop without an answer (network error, timeout)', () => {
    expect(asksNoRetry(networkError(true))).toBe(false);
  });

  it('is not a stop without the header', () => {
    expect(asksNoRetry(status(503))).toBe(false);
  });
});

describe('decideNext with Relay-No-Retry', () => {
  it('fails a retryable status at once, flagged as stopped by the receiver', () => {
    expect(decideNext(status(503, { 'relay-no-retry': 'true' }), 1, options, 0.5, NOW)).toEqual({
      kind: 'fail',
      retryable: false,
      stop: 'no-retry-header',
    });
  });

  it('wins over a Retry-After on the same answer', () => {
    const d = decideNext(status(429, { 'relay-no-retry': '1', 'retry-after': '5' }), 1, options, 0.5, NOW);
    expect(d).toEqual({ kind: 'fail', retryable: false, stop: 'no-retry-header' });
  });

  it('also names the stop on an answer that was final anyway', () => {
    expect(decideNext(status(422, { 'relay-no-retry': 'true' }), 1, options, 0.5, NOW)).toEqual({
      kind: 'fail',
      retryable: false,
      stop: 'no-retry-header',
    });
  });

  it('leaves a 2xx a success', () => {
    expect(decideNext(status(200, { 'relay-no-retry': 'true' }), 1, options, 0.5, NOW)).toEqual({ kind: 'success' });
  });

  it('retries as usual when the value is not true or 1', () => {
    expect(decideNext(status(503, { 'relay-no-retry': 'false' }), 1, options, 0.5, NOW).kind).toBe('retry');
  });
});

describe('decideCallback', () => {
  const cb = { maxAttempts: 4, retryDelayMs: 1000, maxDelayMs: 60_000 };

  it.each([200, 202, 204])('is delivered on %i', (code) => {
    expect(decideCallback(status(code), 1, cb, 0.5)).toEqual({ kind: 'success' });
    expect(decideCallback(status(code), cb.maxAttempts, cb, 0.5)).toEqual({ kind: 'success' });
  });

  it.each([400, 404, 429, 500, 503])('retries %i with the backoff (a receiver may be redeploying)', (code) => {
    expect(decideCallback(status(code), 1, cb, 0.5)).toEqual({ kind: 'retry', delayMs: 1000, retryAfterMs: null });
    expect(decideCallback(status(code), 3, cb, 0.5)).toEqual({ kind: 'retry', delayMs: 4000, retryAfterMs: null });
  });

  it('makes exactly maxAttempts deliveries', () => {
    const kinds = [1, 2, 3, 4].map((n) => decideCallback(status(500), n, cb, 0.5).kind);
    expect(kinds).toEqual(['retry', 'retry', 'retry', 'fail']);
    expect(decideCallback(status(500), 4, cb, 0.5)).toEqual({ kind: 'fail', retryable: true });
  });

  it('stops at once on 410 Gone', () => {
    expect(decideCallback(status(410), 1, cb, 0.5)).toEqual({ kind: 'fail', retryable: false, stop: 'gone' });
  });

  it('stops at once on Relay-No-Retry, whatever the status', () => {
    for (const code of [400, 500, 503, 410]) {
      expect(decideCallback(status(code, { 'relay-no-retry': 'true' }), 1, cb, 0.5)).toEqual({
        kind: 'fail',
        retryable: false,
        stop: 'no-retry-header',
      });
    }
  });

  it('retries a retryable network error, and fails at once on one that would repeat', () => {
    expect(decideCallback(networkError(true), 1, cb, 0.5).kind).toBe('retry');
    expect(decideCallback(networkError(false), 1, cb, 0.5)).toEqual({ kind: 'fail', retryable: false });
  });

  it('caps the delay at maxDelayMs and does not honour Retry-After', () => {
    const capped = { ...cb, maxAttempts: 20, maxDelayMs: 5000 };
    expect(decideCallback(status(503, { 'retry-after': '60' }), 10, capped, ALMOST_ONE)).toEqual({
      kind: 'retry',
      delayMs: 5000,
      retryAfterMs: null,
    });
  });
});
