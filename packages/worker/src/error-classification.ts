import { ErrorCodes, type AttemptError } from '@relay/common';
import type { AttemptResult, Decision } from './retry-policy.js';

/**
 * Turns whatever undici or the abort signal threw into a recorded error with a
 * stable code, and says whether trying again could help. Pure.
 */
export function classifyRequestError(err: unknown): AttemptError & { retryable: boolean } {
  const e = err as { name?: string; code?: string; message?: string; cause?: { code?: string; message?: string } };
  const code = e?.code ?? e?.cause?.code;
  if (
    e?.name === 'TimeoutError' ||
    e?.name === 'AbortError' ||
    code === 'UND_ERR_CONNECT_TIMEOUT' ||
    code === 'UND_ERR_HEADERS_TIMEOUT' ||
    code === 'UND_ERR_BODY_TIMEOUT' ||
    code === 'ETIMEDOUT'
  ) {
    return { code: ErrorCodes.TIMEOUT.code, message: ErrorCodes.TIMEOUT.message, retryable: true };
  }
  // The SSRF guard refused every address of the host: the same URL leads to
  // the same refusal (and retrying against a rebinding host is the attack).
  if (code === ErrorCodes.FORBIDDEN_ADDRESS.code) {
    return { code, message: e?.message ?? ErrorCodes.FORBIDDEN_ADDRESS.message, retryable: false };
  }
  // Invalid arguments are a request relay can never send; retrying cannot help.
  if (code === 'UND_ERR_INVALID_ARG' || code === 'ERR_INVALID_URL' || code === 'ERR_INVALID_ARG_VALUE') {
    return { code: code, message: e?.message ?? 'invalid request', retryable: false };
  }
  // Refused, reset, DNS failures, TLS errors, sockets closed mid-response:
  // all may be transient.
  const message = e?.cause?.message ?? e?.message ?? String(err);
  return { code: code ?? ErrorCodes.NETWORK.code, message, retryable: true };
}

/**
 * The error recorded for an outcome once its decision is made (null on
 * success): the network error or timeout as classified, RELAY_ERR_RECEIVER_STOPPED
 * when the receiver ended the retries, RELAY_ERR_HTTP_STATUS for any other
 * non-2xx. `receiver` names who answered, for the message. Pure.
 */
export function outcomeError(
  result: AttemptResult,
  decision: Decision,
  receiver: 'target' | 'callback',
): AttemptError | null {
  if (decision.kind === 'success') return null;
  if (result.error) return { code: result.error.code, message: result.error.message };
  if (decision.kind === 'fail' && decision.stop === 'no-retry-header') {
    return {
      code: ErrorCodes.RECEIVER_STOPPED.code,
      message: `${receiver} answered ${result.statusCode} with Relay-No-Retry; not retried`,
    };
  }
  if (decision.kind === 'fail' && decision.stop === 'gone') {
    return { code: ErrorCodes.RECEIVER_STOPPED.code, message: `${receiver} answered 410 Gone; not retried` };
  }
  return { code: ErrorCodes.HTTP_STATUS.code, message: `${receiver} answered ${result.statusCode}` };
}
