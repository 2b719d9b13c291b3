import { createHmac } from 'node:crypto';

/**
 * One application secret, two keys. Callbacks are signed with the
 * application's `whsec_` secret as is, so that Standard Webhooks libraries
 * verify them with the secret relay handed out. Target requests are signed
 * with a key derived from it, HMAC-SHA256(secret key bytes, TARGET_KEY_LABEL),
 * so that a signed target request can never pass for a callback (nor the
 * other way round): a target that saw a request cannot replay it to the
 * application's callback endpoint as a result. The derived key is handed
 * out as a `whsec_` secret of its own (targetSigningSecret).
 */

/** The derivation label of the target-request key; changing it changes every target's secret. */
export const TARGET_KEY_LABEL = 'relay target-request signing v1';

const PREFIX = 'whsec_';

/** The `whsec_` secret a target verifies relay's signed requests with, derived from the application's secret. */
export function targetSigningSecret(applicationSecret: string): string {
  const encoded = applicationSecret.startsWith(PREFIX) ? applicationSecret.slice(PREFIX.length) : applicationSecret;
  const key = createHmac('sha256', Buffer.from(encoded, 'base64')).update(TARGET_KEY_LABEL, 'utf8').digest();
  return `${PREFIX}${key.toString('base64')}`;
}
