import { createHmac } from 'node:crypto';

/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com): an
 * HMAC-SHA256 over `${id}.${timestamp}.${body}` with each secret, sent as
 * `webhook-signature: v1,<base64> v1,<base64> ...`. Pure: no I/O, no clock.
 */

/** The prefix of a Standard Webhooks secret; the rest is the key in base64. */
export const SIGNING_SECRET_PREFIX = 'whsec_';

/** The three headers a signed request carries. */
export interface WebhookHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

export interface SignInput {
  /** Identifies the message; the same on every retry of it. */
  id: string;
  /** Unix time of this send, in seconds. */
  timestamp: number;
  /** Exactly the bytes sent (a string is signed as UTF-8, as it is sent). */
  body: string | Buffer;
  /** `whsec_...` secrets, one signature each; at least one. */
  secrets: readonly string[];
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * The key bytes of a secret: base64 after an optional `whsec_` prefix (the
 * reference libraries accept both). The error never repeats the secret.
 */
export function parseSigningSecret(secret: string): Buffer {
  const encoded = secret.startsWith(SIGNING_SECRET_PREFIX) ? secret.slice(SIGNING_SECRET_PREFIX.length) : secret;
  if (encoded === '' || !BASE64.test(encoded)) {
    throw new TypeError('signing secret must be "whsec_" followed by non-empty base64');
  }
  return Buffer.from(encoded, 'base64');
}

/** One `v1,<base64>` signature. */
export function signatureV1(key: Buffer, id: string, timestamp: number, body: string | Buffer): string {
  const mac = createHmac('sha256', key).update(`${id}.${timestamp}.`, 'utf8');
  mac.update(typeof body === 'string' ? Buffer.from(body, 'utf8') : body);
  return `v1,${mac.digest('base64')}`;
}

/**
 * The signature headers of one send. With several secrets (during a
 * rotation) there is one signature per secret, so a receiver that knows any
 * one of them verifies the message.
 */
export function signWebhook(input: SignInput): WebhookHeaders {
  if (input.secrets.length === 0) throw new TypeError('at least one signing secret is needed');
  if (!Number.isSafeInteger(input.timestamp) || input.timestamp < 0) {
    throw new TypeError('timestamp must be whole unix seconds');
  }
  return {
    'webhook-id': input.id,
    'webhook-timestamp': String(input.timestamp),
    'webhook-signature': input.secrets
      .map((secret) => signatureV1(parseSigningSecret(secret), input.id, input.timestamp, input.body))
      .join(' '),
  };
}

/**
 * `headers` with the signature headers set, replacing any of the same names
 * in another case (a job's own `Webhook-Id` must not travel next to ours).
 */
export function withWebhookHeaders(headers: Record<string, string>, signed: WebhookHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!Object.hasOwn(signed, name.toLowerCase())) out[name] = value;
  }
  return Object.assign(out, signed);
}
