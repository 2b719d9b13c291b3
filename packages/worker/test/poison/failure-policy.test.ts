import { describe, expect, it } from 'vitest';
import { ServiceUnavailableError, type AttemptMessage, type CallbackMessage } from '@relay/common';
import { failuresOf, isOutage, judgeFailure, stepOf } from '../../src/poison/failure-policy.js';

const options = { maxFailures: 5, baseDelayMs: 1000, maxDelayMs: 30_000 };

/** ioredis's error for a reply of the server: name ReplyError, the reply as message. */
function replyError(message: string): Error {
  const err = new Error(message);
  err.name = 'ReplyError';
  return err;
}

describe('isOutage', () => {
  it('is true for Redis or RabbitMQ down, timing out, out of memory or loading', () => {
    expect(isOutage(new ServiceUnavailableError('Redis', new Error('Connection is closed.')))).toBe(true);
    expect(isOutage(new ServiceUnavailableError('RabbitMQ', new Error('publish confirm timed out')))).toBe(true);
    expect(isOutage(new ServiceUnavailableError('Redis', replyError('OOM command not allowed')))).toBe(true);
    expect(isOutage(new ServiceUnavailableError('Redis', replyError('LOADING Redis is loading')))).toBe(true);
  });

  it("is false for the message's own faults, a refused script included", () => {
    expect(isOutage(new TypeError('x is undefined'))).toBe(false);
    expect(isOutage(new RangeError('Maximum call stack size exceeded'))).toBe(false);
    expect(isOutage(new ServiceUnavailableError('Redis', replyError('ERR user_script:12: bad argument')))).toBe(false);
    const wrongType = replyError('WRONGTYPE Operation against a key holding the wrong kind of value');
    expect(isOutage(new ServiceUnavailableError('Redis', wrongType))).toBe(false);
    expect(isOutage('a string')).toBe(false);
    expect(isOutage(undefined)).toBe(false);
  });
});

describe('judgeFailure', () => {
  it('waits out an outage at the base delay without counting it, however many came before', () => {
    const outage = new ServiceUnavailableError('Redis', new Error('ECONNREFUSED'));
    expect(judgeFailure(outage, 0, options)).toEqual({ kind: 'outage', delayMs: 1000 });
    expect(judgeFailure(outage, 4, options)).toEqual({ kind: 'outage', delayMs: 1000 });
  });

  it('counts other failures, doubling the wait, and makes the message poison at the limit', () => {
    const err = new RangeError('Maximum call stack size exceeded');
    expect(judgeFailure(err, 0, options)).toEqual({ kind: 'defer', failures: 1, delayMs: 1000 });
    expect(judgeFailure(err, 1, options)).toEqual({ kind: 'defer', failures: 2, delayMs: 2000 });
    expect(judgeFailure(err, 3, options)).toEqual({ kind: 'defer', failures: 4, delayMs: 8000 });
    expect(judgeFailure(err, 4, options)).toEqual({ kind: 'poison', failures: 5 });
    expect(judgeFailure(err, 99, options)).toEqual({ kind: 'poison', failures: 100 });
  });

  it('bounds the wait by the ceiling', () => {
    const many = { ...options, maxFailures: 100 };
    expect(judgeFailure(new TypeError('t'), 10, many)).toEqual({ kind: 'defer', failures: 11, delayMs: 30_000 });
  });

  it('makes the first failure poison when the limit is 1', () => {
    expect(judgeFailure(new TypeError('t'), 0, { ...options, maxFailures: 1 })).toEqual({
      kind: 'poison',
      failures: 1,
    });
  });
});

describe('failuresOf', () => {
  const attempt = { kind: 'attempt', attempt: 3 } as AttemptMessage;
  const callback = { kind: 'callback', delivery: 2 } as CallbackMessage;

  it('reads the count of the current step, none when absent', () => {
    expect(failuresOf(attempt)).toBe(0);
    expect(failuresOf({ ...attempt, failures: { step: 3, count: 2 } })).toBe(2);
    expect(failuresOf({ ...callback, failures: { step: 2, count: 4 } })).toBe(4);
    expect([stepOf(attempt), stepOf(callback)]).toEqual([3, 2]);
  });

  it('voids the count of an earlier step: the next attempt or delivery starts from none', () => {
    expect(failuresOf({ ...attempt, failures: { step: 2, count: 4 } })).toBe(0);
    expect(failuresOf({ ...callback, failures: { step: 1, count: 4 } })).toBe(0);
  });
});
