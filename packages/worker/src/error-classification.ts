import { ErrorCodes, type AttemptError } from '@relay/common';

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
  // Invalid arguments are a request relay can never send; retrying cannot help.
  if (code === 'UND_ERR_INVALID_ARG' || code === 'ERR_INVALID_URL' || code === 'ERR_INVALID_ARG_VALUE') {
    return { code: code, message: e?.message ?? 'invalid request', retryable: false };
  }
  // Refused, reset, DNS failures, TLS errors, sockets closed mid-response:
  // all may be transient.
  const message = e?.cause?.message ?? e?.message ?? String(err);
  return { code: code ?? ErrorCodes.NETWORK.code, message, retryable: true };
}
