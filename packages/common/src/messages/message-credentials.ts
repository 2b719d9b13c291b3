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
 * The spec to send: `spec.headers` with the sealed credential headers put
 * back. Throws when they do not open (key not configured, or sealed for
 * another job or application): a message whose credentials were moved onto
 * another job is never sent with them.
 */
export function openMessageHeaders(message: AttemptMessage, keys: SecretKeys): JobSpec {
  if (message.sealedHeaders === undefined) return message.spec;
  const aad = jobHeadersAad(message.jobId, message.application);
  const secrets = unsealJson<Record<string, string>>(message.sealedHeaders, keys, aad);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.spec.headers)) headers[name] = secrets[name] ?? value;
  for (const [name, value] of Object.entries(secrets)) if (!(name in headers)) headers[name] = value;
  return { ...message.spec, headers };
}

/** True when `spec` still holds a credential placeholder (REDACTED) instead of a value. */
export function hasRedactedHeaders(spec: JobSpec): boolean {
  return Object.values(spec.headers).includes(REDACTED);
}
