import { ErrorCodes, type AttemptError } from '@relay/common';
import type { AttemptResult, Decision } from '../retry-policy.js';

/** Codes undici and Node give a deadline that passed. */
const TIMEOUT_CODES = new Set([
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ETIMEDOUT',
]);

/** Codes of a request relay can never send (an argument undici or the URL parser refuses). */
const INVALID_REQUEST_CODES = new Set(['UND_ERR_INVALID_ARG', 'ERR_INVALID_URL', 'ERR_INVALID_ARG_VALUE']);

/** `{ systemCode }` when there is one, else nothing: an absent field, never an undefined one. */
function withSystemCode(systemCode: string | undefined): { systemCode?: string } {
  return systemCode === undefined ? {} : { systemCode };
}

/**
 * Turns whatever undici or the abort signal threw into a recorded error and
 * says whether trying again could help. `code` is always a stable
 * RELAY_ERR_* code; the system's own code (ECONNREFUSED, UND_ERR_SOCKET...),
 * when there is one, is kept apart as `systemCode`. Pure.
 */
export function classifyRequestError(err: unknown): AttemptError & { retryable: boolean } {
  const e = err as { name?: string; code?: unknown; message?: string; cause?: { code?: unknown; message?: string } };
  // Only string codes are system codes: a DOMException's `code` is a legacy number.
  const code = [e?.code, e?.cause?.code].find((c): c is string => typeof c === 'string');
  // No systemCode: a timeout is the attempt's deadline however it showed
  // (relay's connect, headers and body timers and its whole-exchange timer
  // race each other; which fires first says nothing about the target).
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError' || (code !== undefined && TIMEOUT_CODES.has(code))) {
    return { code: ErrorCodes.TIMEOUT.code, message: ErrorCodes.TIMEOUT.message, retryable: true };
  }
  // The SSRF guard refused every address of the host: the same URL leads to
  // the same refusal (and retrying against a rebinding host is the attack).
  if (code === ErrorCodes.FORBIDDEN_ADDRESS.code) {
    return { code, message: e?.message ?? ErrorCodes.FORBIDDEN_ADDRESS.message, retryable: false };
  }
  // Invalid arguments are a request relay can never send; retrying cannot help.
  if (code !== undefined && INVALID_REQUEST_CODES.has(code)) {
    return {
      code: ErrorCodes.VALIDATION.code,
      message: e?.message ?? 'invalid request',
      systemCode: code,
      retryable: false,
    };
  }
  // Refused, reset, DNS failures, TLS errors, sockets closed mid-response:
  // all may be transient.
  const message = e?.cause?.message ?? e?.message ?? String(err);
  return { code: ErrorCodes.NETWORK.code, message, ...withSystemCode(code), retryable: true };
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
  receiver: 'target' | 'callback' | 'event receiver',
): AttemptError | null {
  if (decision.kind === 'success') return null;
  if (result.error) {
    const { code, message, systemCode } = result.error;
    return { code, message, ...withSystemCode(systemCode) };
  }
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
