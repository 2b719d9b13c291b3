import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/**
 * Sealing of secrets wherever they rest (Redis) or travel (broker messages,
 * dead letters): AES-256-GCM under RELAY_SECRET_KEY, with what the value
 * belongs to (job id, application id) bound as associated data, so a sealed
 * value copied onto another job or application does not open. The sealed
 * form is `s2.<key id>.<base64(iv ‖ tag ‖ ciphertext)>`; the key id names the
 * key that sealed it, so that after a rotation values sealed with an earlier
 * key (RELAY_SECRET_KEYS_PREVIOUS) are still read, and new ones are sealed
 * with the current key only. The keys never leave configuration.
 */

/** The current key (seals and opens) and earlier ones (open only); each 32 bytes, base64. */
export interface SecretKeys {
  readonly current: string;
  readonly previous?: readonly string[];
}

const PREFIX = 's2';

/** Builds SecretKeys from RELAY_SECRET_KEY and the comma-separated RELAY_SECRET_KEYS_PREVIOUS. */
export function secretKeys(current: string, previousCsv = ''): SecretKeys {
  const previous = previousCsv
    .split(',')
    .map((k) => k.trim())
    .filter((k) => k !== '' && k !== current);
  return { current, previous };
}

/** A short public name of a key: not the key, nor enough to find it. */
export function keyId(keyBase64: string): string {
  return createHash('sha256')
    .update('relay-key-id\0')
    .update(Buffer.from(keyBase64, 'base64'))
    .digest('hex')
    .slice(0, 8);
}

/** Associated data of a job's credential headers. */
export function jobHeadersAad(jobId: string, application: string): string {
  return `relay:job-headers:${jobId}:${application}`;
}

/** Associated data of a subscription's custom headers. */
export function subscriptionHeadersAad(application: string, subscriptionId: string): string {
  return `relay:subscription-headers:${application}:${subscriptionId}`;
}

/** Associated data of an application's signing secrets. */
export function signingSecretAad(application: string): string {
  return `relay:signing-secret:${application}`;
}

export function sealJson(value: unknown, keys: SecretKeys | string, aad: string): string {
  const key = typeof keys === 'string' ? keys : keys.current;
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', Buffer.from(key, 'base64'), iv);
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const body = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
  return `${PREFIX}.${keyId(key)}.${Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64')}`;
}

function open(raw: Buffer, keyBase64: string, aad: string | null): string {
  const decipher = createDecipheriv('aes-256-gcm', Buffer.from(keyBase64, 'base64'), raw.subarray(0, 12));
  if (aad !== null) decipher.setAAD(Buffer.from(aad, 'utf8'));
  decipher.setAuthTag(raw.subarray(12, 28));
  return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
}

/**
 * Opens a value sealed by sealJson with the key its id names (current or
 * previous). Throws when no configured key has that id, when the value was
 * sealed for other associated data, or when it was altered (GCM
 * authentication). A value without the `s2.` prefix was sealed by an earlier
 * release, before associated data and key ids: it is opened with each
 * configured key in turn and without associated data, so that records kept
 * across an upgrade stay readable; new values are never written that way.
 */
export function unsealJson<T>(sealed: string, keys: SecretKeys | string, aad: string): T {
  const ring = typeof keys === 'string' ? { current: keys, previous: [] } : keys;
  const all = [ring.current, ...(ring.previous ?? [])].filter((k) => k !== '');
  const parts = sealed.split('.');
  if (parts.length === 3 && parts[0] === PREFIX) {
    const key = all.find((k) => keyId(k) === parts[1]);
    if (!key)
      throw new Error(
        `sealed with key ${parts[1]}, which is not configured (RELAY_SECRET_KEY or RELAY_SECRET_KEYS_PREVIOUS)`,
      );
    return JSON.parse(open(Buffer.from(parts[2]!, 'base64'), key, aad)) as T;
  }
  let last: unknown = new Error('no key configured');
  for (const key of all) {
    try {
      return JSON.parse(open(Buffer.from(sealed, 'base64'), key, null)) as T;
    } catch (err) {
      last = err;
    }
  }
  throw last;
}
