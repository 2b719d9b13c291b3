import { ErrorCodes } from '../errors.js';
import type { JobSpec } from '../job-schema.js';
import { REDACTED, type HeaderRedactor } from '../redact.js';
import { jobHeadersAad, sealJson, unsealJson, type SecretKeys } from '../secrets.js';
import type { AttemptMessage } from './types.js';

/**
 * Credential headers in work messages. With RELAY_SECRET_KEY set, every
 * attempt message is published with its credential headers (the redactor's
 * list) sealed in `sealedHeaders`, bound to the job id and application id,
 * and `[redacted]` in their place in `spec.headers`: the broker, its
 * dead-letter queue and every archived copy hold them only encrypted. Only
 * the worker opens them, just before the call. Without a key the message
 * carries them in clear, as the only copy a job has.
 */
export function sealMessageHeaders(
  message: AttemptMessage,
  keys: SecretKeys,
  redactor: HeaderRedactor,
): AttemptMessage {
  if (!keys.current) return message;
  const secrets = redactor.secrets(message.spec.headers);
  if (Object.keys(secrets).length === 0) return message;
  return {
    ...message,
    spec: { ...message.spec, headers: redactor.redact(message.spec.headers) },
    sealedHeaders: sealJson(secrets, keys, jobHeadersAad(message.jobId, message.application)),
  };
}

/**
 * Thrown when a message's sealed credential headers do not open. Not a
 * passing fault: the same message fails the same way on every worker, so the
 * worker ends the job with RELAY_ERR_CREDENTIALS_UNREADABLE instead of
 * retrying it as a poison message.
 */
export class SealedHeadersError extends Error {
  readonly code = ErrorCodes.CREDENTIALS_UNREADABLE.code;
  constructor(reason: string) {
    super(`${ErrorCodes.CREDENTIALS_UNREADABLE.message}: ${reason}`);
    this.name = 'SealedHeadersError';
  }
}

/**
 * The spec to send: `spec.headers` with the sealed credential headers put
 * back. Throws SealedHeadersError when they do not open (key not configured,
 * or sealed for another job or application): a message whose credentials
 * were moved onto another job is never sent with them.
 */
export function openMessageHeaders(message: AttemptMessage, keys: SecretKeys): JobSpec {
  if (message.sealedHeaders === undefined) return message.spec;
  const aad = jobHeadersAad(message.jobId, message.application);
  let secrets: Record<string, string>;
  try {
    secrets = unsealJson<Record<string, string>>(message.sealedHeaders, keys, aad);
  } catch (err) {
    // GCM's own message ("Unsupported state or unable to authenticate data") says nothing to an operator.
    const reason = /not configured/.test(String((err as Error).message))
      ? (err as Error).message
      : 'they were sealed for another job or application, or altered';
    throw new SealedHeadersError(reason);
  }
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.spec.headers)) headers[name] = secrets[name] ?? value;
  for (const [name, value] of Object.entries(secrets)) if (!(name in headers)) headers[name] = value;
  return { ...message.spec, headers };
}

/** True when `spec` still holds a credential placeholder (REDACTED) instead of a value. */
export function hasRedactedHeaders(spec: JobSpec): boolean {
  return Object.values(spec.headers).includes(REDACTED);
}
