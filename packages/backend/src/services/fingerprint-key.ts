import { hkdfSync } from 'node:crypto';

/**
 * The key of Idempotency-Key fingerprints (an HMAC-SHA-256 of the body): a
 * plain hash of a body that holds credential headers would let whoever reads
 * Redis guess those credentials offline.
 *
 * Derived (HKDF-SHA-256, its own label) from RELAY_SECRET_KEY, else from
 * RELAY_MASTER_KEY, so every backend sharing a Redis with the same settings
 * computes the same fingerprints and no new setting is needed. With neither
 * (RELAY_AUTH=off, loopback only) the key is a fixed public one: fingerprints
 * still work, but they protect nothing, as nothing else is secret in that
 * mode. Changing the source secret changes every fingerprint: a retry within
 * 24 h of a key used before the change gets a 422 (different body).
 */
const LABEL = 'relay idempotency fingerprint v1';

export function fingerprintKey(secrets: { secretKey: string; masterKey: string }): Buffer {
  const source = secrets.secretKey
    ? Buffer.from(secrets.secretKey, 'base64')
    : secrets.masterKey
      ? Buffer.from(secrets.masterKey, 'utf8')
      : Buffer.from(LABEL, 'utf8');
  return Buffer.from(hkdfSync('sha256', source, Buffer.alloc(0), LABEL, 32));
}
