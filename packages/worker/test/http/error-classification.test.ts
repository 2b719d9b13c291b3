import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '@relay/common';
import { classifyRequestError, outcomeError } from '../../src/http/error-classification.js';
import type { AttemptResult } from '../../src/retry-policy.js';

/** An Error shaped like undici's: a name, a `code`, sometimes a `cause`. */
function undiciError(name: string, code: string | undefined, message: string, cause?: unknown): Error {
  const err = new Error(message, cause === undefined ? undefined : { cause });
  err.name = name;
  if (code !== undefined) Object.assign(err, { code });
  return err;
}

function systemError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code, errno: -111, syscall: 'connect' });
}

const TIMEOUT = { code: ErrorCodes.TIMEOUT.code, message: ErrorCodes.TIMEOUT.message, retryable: true };

describe('classifyRequestError', () => {
  describe('timeouts -> RELAY_ERR_TIMEOUT, retryable', () => {
    it.each<[string, unknown]>([
      // What AbortSignal.timeout() aborts with.
      ['DOMException TimeoutError', new DOMException('The operation was aborted due to timeout', 'TimeoutError')],
      ['AbortError', undiciError('AbortError', undefined, 'This operation was aborted')],
      ['ConnectTimeoutError', undiciError('ConnectTimeoutError', 'UND_ERR_CONNECT_TIMEOUT', 'Connect Timeout Error')],
      ['HeadersTimeoutError', undiciError('HeadersTimeoutError', 'UND_ERR_HEADERS_TIMEOUT', 'Headers Timeout Error')],
      ['BodyTimeoutError', undiciError('BodyTimeoutError', 'UND_ERR_BODY_TIMEOUT', 'Body Timeout Error')],
      ['ETIMEDOUT system error', systemError('ETIMEDOUT', 'connect ETIMEDOUT 10.0.0.1:80')],
      [
        'fetch-style TypeError with a connect timeout as cause',
        new TypeError('fetch failed', {
          cause: undiciError('ConnectTimeoutError', 'UND_ERR_CONNECT_TIMEOUT', 'Connect Timeout Error'),
        }),
      ],
    ])('%s', (_label, err) => {
      expect(classifyRequestError(err)).toEqual(TIMEOUT);
    });
  });

  describe('invalid requests -> RELAY_ERR_VALIDATION, not retryable, system code kept apart', () => {
    it.each([
      ['UND_ERR_INVALID_ARG', 'invalid content-length header'],
      ['ERR_INVALID_URL', 'Invalid URL'],
      ['ERR_INVALID_ARG_VALUE', 'bad header value'],
    ])('%s', (code, message) => {
      const err = undiciError('InvalidArgumentError', code, message);
      expect(classifyRequestError(err)).toEqual({
        code: ErrorCodes.VALIDATION.code,
        message,
        systemCode: code,
        retryable: false,
      });
    });
  });

  describe('network failures -> retryable', () => {
    it('ECONNREFUSED on the error itself -> RELAY_ERR_NETWORK with systemCode ECONNREFUSED', () => {
      const err = systemError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:9');
      expect(classifyRequestError(err)).toEqual({
        code: ErrorCodes.NETWORK.code,
        message: 'connect ECONNREFUSED 127.0.0.1:9',
        systemCode: 'ECONNREFUSED',
        retryable: true,
      });
    });

    it('ECONNREFUSED in the cause: the cause supplies system code and message', () => {
      const err = new TypeError('fetch failed', {
        cause: systemError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:9'),
      });
      expect(classifyRequestError(err)).toEqual({
        code: ErrorCodes.NETWORK.code,
        message: 'connect ECONNREFUSED 127.0.0.1:9',
        systemCode: 'ECONNREFUSED',
        retryable: true,
      });
    });

    it.each(['ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_SOCKET', 'CERT_HAS_EXPIRED'])('%s', (code) => {
      expect(classifyRequestError(undiciError('Error', code, `failed: ${code}`))).toEqual({
        code: ErrorCodes.NETWORK.code,
        message: `failed: ${code}`,
        systemCode: code,
        retryable: true,
      });
    });

    it('an error with no code at all -> RELAY_ERR_NETWORK with its message, no systemCode', () => {
      const classified = classifyRequestError(new Error('other side closed'));
      expect(classified).toEqual({ code: ErrorCodes.NETWORK.code, message: 'other side closed', retryable: true });
      expect(classified).not.toHaveProperty('systemCode');
    });

    it('a code that is not a string is no system code', () => {
      const err = Object.assign(new Error('odd'), { code: 42 });
      expect(classifyRequestError(err)).not.toHaveProperty('systemCode');
    });

    it.each<[string, unknown, string]>([
      ['a string', 'boom', 'boom'],
      ['null', null, 'null'],
      ['undefined', undefined, 'undefined'],
      ['a plain object', {}, '[object Object]'],
    ])('something thrown that is not an Error (%s) -> RELAY_ERR_NETWORK', (_label, thrown, message) => {
      expect(classifyRequestError(thrown)).toEqual({ code: ErrorCodes.NETWORK.code, message, retryable: true });
    });
  });
});

describe('outcomeError', () => {
  const answered = (statusCode: number): AttemptResult => ({ statusCode, headers: {}, error: null });

  it('is null on success', () => {
    expect(outcomeError(answered(200), { kind: 'success' }, 'target')).toBeNull();
  });

  it('keeps a network error with its system code, without the retryable flag', () => {
    const result: AttemptResult = {
      statusCode: null,
      headers: {},
      error: { code: ErrorCodes.NETWORK.code, message: 'refused', systemCode: 'ECONNREFUSED', retryable: true },
    };
    expect(outcomeError(result, { kind: 'retry', delayMs: 100, retryAfterMs: null }, 'target')).toEqual({
      code: ErrorCodes.NETWORK.code,
      message: 'refused',
      systemCode: 'ECONNREFUSED',
    });
  });

  it('keeps a network error or timeout as classified', () => {
    const result: AttemptResult = { statusCode: null, headers: {}, error: { ...TIMEOUT } };
    expect(outcomeError(result, { kind: 'retry', delayMs: 100, retryAfterMs: null }, 'target')).toEqual({
      code: ErrorCodes.TIMEOUT.code,
      message: ErrorCodes.TIMEOUT.message,
    });
  });

  it('names a non-2xx and who answered it', () => {
    expect(outcomeError(answered(500), { kind: 'fail', retryable: true }, 'target')).toEqual({
      code: 'RELAY_ERR_HTTP_STATUS',
      message: 'target answered 500',
    });
    expect(outcomeError(answered(404), { kind: 'retry', delayMs: 1, retryAfterMs: null }, 'callback')).toEqual({
      code: 'RELAY_ERR_HTTP_STATUS',
      message: 'callback answered 404',
    });
  });

  it('reports a receiver stop with its own code', () => {
    expect(outcomeError(answered(503), { kind: 'fail', retryable: false, stop: 'no-retry-header' }, 'target')).toEqual({
      code: 'RELAY_ERR_RECEIVER_STOPPED',
      message: 'target answered 503 with Relay-No-Retry; not retried',
    });
    expect(outcomeError(answered(410), { kind: 'fail', retryable: false, stop: 'gone' }, 'callback')).toEqual({
      code: 'RELAY_ERR_RECEIVER_STOPPED',
      message: 'callback answered 410 Gone; not retried',
    });
  });
});
