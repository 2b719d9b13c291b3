import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * Credential headers at rest. Redis stores them redacted; with a configured
 * key it also stores them sealed (AES-256-GCM) so that a replay can send them
 * again. The key never leaves configuration; the sealed form is
 * base64(iv ‖ tag ‖ ciphertext). Which headers are credentials is the
 * HeaderRedactor's call (redact.ts).
 */

export function sealJson(value: unknown, keyBase64: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', Buffer.from(keyBase64, 'base64'), iv);
  const body = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
}

/** Throws when the key is wrong or the data was altered (GCM authentication). */
export function unsealJson<T>(sealed: string, keyBase64: string): T {
  const raw = Buffer.from(sealed, 'base64');
  const decipher = createDecipheriv('aes-256-gcm', Buffer.from(keyBase64, 'base64'), raw.subarray(0, 12));
  decipher.setAuthTag(raw.subarray(12, 28));
  const text = Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
  return JSON.parse(text) as T;
}
