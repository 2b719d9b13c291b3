import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '@relay/common';
import { classifyRequestError } from '../src/error-classification.js';

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

  describe('invalid requests -> not retryable, code kept', () => {
    it.each([
      ['UND_ERR_INVALID_ARG', 'invalid content-length header'],
      ['ERR_INVALID_URL', 'Invalid URL'],
      ['ERR_INVALID_ARG_VALUE', 'bad header value'],
    ])('%s', (code, message) => {
      const err = undiciError('InvalidArgumentError', code, message);
      expect(classifyRequestError(err)).toEqual({ code, message, retryable: false });
    });
  });

  describe('network failures -> retryable', () => {
    it('ECONNREFUSED on the error itself', () => {
      const err = systemError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:9');
      expect(classifyRequestError(err)).toEqual({
        code: 'ECONNREFUSED',
        message: 'connect ECONNREFUSED 127.0.0.1:9',
        retryable: true,
      });
    });

    it('ECONNREFUSED in the cause: the cause supplies code and message', () => {
      const err = new TypeError('fetch failed', {
        cause: systemError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:9'),
      });
      expect(classifyRequestError(err)).toEqual({
        code: 'ECONNREFUSED',
        message: 'connect ECONNREFUSED 127.0.0.1:9',
        retryable: true,
      });
    });

    it.each(['ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_SOCKET', 'CERT_HAS_EXPIRED'])('%s', (code) => {
      expect(classifyRequestError(undiciError('Error', code, `failed: ${code}`))).toEqual({
        code,
        message: `failed: ${code}`,
        retryable: true,
      });
    });

    it('an error with no code at all -> RELAY_ERR_NETWORK with its message', () => {
      expect(classifyRequestError(new Error('other side closed'))).toEqual({
        code: ErrorCodes.NETWORK.code,
        message: 'other side closed',
        retryable: true,
      });
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
