import { randomBytes, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  HeaderRedactor,
  jobHeadersAad,
  keyId,
  loadConfig,
  commonConfigSpec,
  decodeMessage,
  encodeMessage,
  openMessageHeaders,
  SealedHeadersError,
  sealJson,
  sealMessageHeaders,
  secretKeys,
  signingSecretAad,
  unsealJson,
  type AttemptMessage,
} from '../src/index.js';

const newKey = () => randomBytes(32).toString('base64');

function message(jobId: string, application: string, headers: Record<string, string>): AttemptMessage {
  return {
    v: 1,
    kind: 'attempt',
    jobId,
    attempt: 1,
    dueAt: 0,
    createdAt: new Date(0).toISOString(),
    spec: {
      targetUrl: 'http://127.0.0.1:9/x',
      method: 'POST',
      headers,
      payload: null,
      maxRetries: 0,
      retryDelay: 100,
      timeout: 1000,
      priority: 'normal',
    },
    seriesBase: 0,
    requestId: null,
    traceId: '0'.repeat(32),
    application: 'app_a',
  };
}

describe('sealJson / unsealJson', () => {
  it('round-trips a value with its associated data and names the key that sealed it', () => {
    const key = newKey();
    const aad = jobHeadersAad(randomUUID(), 'app_a');
    const sealed = sealJson({ authorization: 'Bearer t0ken' }, { current: key }, aad);
    expect(sealed).not.toContain('t0ken');
    expect(sealed.split('.')).toHaveLength(3);
    expect(sealed.split('.')[1]).toBe(keyId(key));
    expect(unsealJson(sealed, { current: key }, aad)).toEqual({ authorization: 'Bearer t0ken' });
  });

  it('refuses a value sealed for another job or application (swap)', () => {
    const keys = { current: newKey() };
    const jobA = randomUUID();
    const sealed = sealJson({ authorization: 'a' }, keys, jobHeadersAad(jobA, 'app_a'));
    expect(() => unsealJson(sealed, keys, jobHeadersAad(randomUUID(), 'app_a'))).toThrow();
    expect(() => unsealJson(sealed, keys, jobHeadersAad(jobA, 'app_b'))).toThrow();
    expect(() => unsealJson(sealed, keys, signingSecretAad('app_a'))).toThrow();
  });

  it('refuses a wrong key and an altered value', () => {
    const aad = signingSecretAad('app_a');
    const sealed = sealJson('whsec_x', { current: newKey() }, aad);
    expect(() => unsealJson(sealed, { current: newKey() }, aad)).toThrow(/not configured/);
    const key = newKey();
    const good = sealJson('whsec_x', { current: key }, aad);
    const [p, id, body] = good.split('.') as [string, string, string];
    const raw = Buffer.from(body, 'base64');
    raw[raw.length - 1]! ^= 1;
    expect(() => unsealJson(`${p}.${id}.${raw.toString('base64')}`, { current: key }, aad)).toThrow();
  });

  it('reads values sealed with a previous key after a rotation, and seals with the current one only', () => {
    const old = newKey();
    const current = newKey();
    const aad = signingSecretAad('app_a');
    const before = sealJson('whsec_x', { current: old }, aad);
    const ring = secretKeys(current, ` ${old} ,`);
    expect(unsealJson(before, ring, aad)).toBe('whsec_x');
    expect(sealJson('whsec_x', ring, aad).split('.')[1]).toBe(keyId(current));
    // Once the old key is dropped from the list, its values no longer open.
    expect(() => unsealJson(before, secretKeys(current), aad)).toThrow(/not configured/);
  });

  it('still reads the earlier release’s format (no key id, no associated data)', async () => {
    const { createCipheriv } = await import('node:crypto');
    const key = newKey();
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', Buffer.from(key, 'base64'), iv);
    const body = Buffer.concat([cipher.update(JSON.stringify({ cookie: 'c' }), 'utf8'), cipher.final()]);
    const legacy = Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
    expect(unsealJson(legacy, secretKeys(newKey(), key), jobHeadersAad(randomUUID(), 'app_a'))).toEqual({
      cookie: 'c',
    });
  });
});

describe('credential headers of a message', () => {
  const redactor = new HeaderRedactor(['x-private']);

  it('seals the redactor’s headers for the job and opens them back in place', () => {
    const keys = { current: newKey() };
    const m = message(randomUUID(), 'app_a', { Authorization: 'Bearer t0ken', 'X-Private': 'p', Accept: 'x' });
    const sealed = sealMessageHeaders(m, keys, redactor);
    expect(JSON.stringify(sealed)).not.toMatch(/t0ken|"p"/);
    expect(sealed.spec.headers).toEqual({ Authorization: '[redacted]', 'X-Private': '[redacted]', Accept: 'x' });
    expect(openMessageHeaders(sealed, keys).headers).toEqual(m.spec.headers);
    // The schema knows the field: the sealed message is read back as it was sent.
    expect(decodeMessage(encodeMessage(sealed))).toEqual(sealed);
  });

  it('leaves the message as is without a key or without credential headers', () => {
    const m = message(randomUUID(), 'app_a', { Authorization: 'Bearer t0ken' });
    expect(sealMessageHeaders(m, { current: '' }, redactor)).toBe(m);
    const plain = message(randomUUID(), 'app_a', { Accept: 'x' });
    expect(sealMessageHeaders(plain, { current: newKey() }, redactor)).toBe(plain);
    expect(openMessageHeaders(plain, { current: '' })).toBe(plain.spec);
  });

  it('refuses sealed headers moved onto another job or application', () => {
    const keys = { current: newKey() };
    const sealed = sealMessageHeaders(message(randomUUID(), 'app_a', { Authorization: 'a' }), keys, redactor);
    for (const moved of [
      { ...sealed, jobId: randomUUID() },
      { ...sealed, application: 'app_b' },
    ]) {
      expect(() => openMessageHeaders(moved, keys)).toThrow(SealedHeadersError);
      expect(() => openMessageHeaders(moved, keys)).toThrow(/sealed for another job or application, or altered/);
    }
  });

  it('names the missing key when the sealing key is not configured', () => {
    const sealingKey = newKey();
    const sealed = sealMessageHeaders(
      message(randomUUID(), 'app_a', { Authorization: 'a' }),
      { current: sealingKey },
      redactor,
    );
    let thrown: unknown;
    try {
      openMessageHeaders(sealed, { current: newKey() });
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(SealedHeadersError);
    expect((thrown as SealedHeadersError).code).toBe('RELAY_ERR_CREDENTIALS_UNREADABLE');
    expect((thrown as Error).message).toContain(`sealed with key ${keyId(sealingKey)}, which is not configured`);
    // With the key among the previous ones it opens.
    expect(openMessageHeaders(sealed, { current: newKey(), previous: [sealingKey] }).headers).toEqual({
      Authorization: 'a',
    });
  });
});

describe('RELAY_SECRET_KEYS_PREVIOUS', () => {
  it('takes comma-separated keys and refuses one that is not 32 bytes of base64', () => {
    const env = { RELAY_SECRET_KEY: newKey(), RELAY_SECRET_KEYS_PREVIOUS: `${newKey()},${newKey()}` };
    expect(loadConfig(commonConfigSpec, env).secretKeysPrevious).toBe(env.RELAY_SECRET_KEYS_PREVIOUS);
    expect(() => loadConfig(commonConfigSpec, { ...env, RELAY_SECRET_KEYS_PREVIOUS: `${newKey()},short` })).toThrow(
      /RELAY_SECRET_KEYS_PREVIOUS: each key/,
    );
  });
});
