import { randomBytes } from 'node:crypto';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { parseSigningSecret, signWebhook, withWebhookHeaders } from '../../src/signing/webhook-signature.js';

/** The test vector of the Standard Webhooks reference libraries ("sign function works"). */
const VECTOR = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: 1614265330,
  body: '{"test": 2432232314}',
  signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
};

const newSecret = () => `whsec_${randomBytes(32).toString('base64')}`;
const nowSeconds = () => Math.floor(Date.now() / 1000);

describe('signWebhook', () => {
  it('matches the Standard Webhooks test vector', () => {
    const headers = signWebhook({
      id: VECTOR.id,
      timestamp: VECTOR.timestamp,
      body: VECTOR.body,
      secrets: [VECTOR.secret],
    });
    expect(headers).toEqual({
      'webhook-id': VECTOR.id,
      'webhook-timestamp': '1614265330',
      'webhook-signature': VECTOR.signature,
    });
  });

  it('accepts the secret without its whsec_ prefix, as the reference libraries do', () => {
    const bare = VECTOR.secret.slice('whsec_'.length);
    const headers = signWebhook({ id: VECTOR.id, timestamp: VECTOR.timestamp, body: VECTOR.body, secrets: [bare] });
    expect(headers['webhook-signature']).toBe(VECTOR.signature);
  });

  it('agrees with the standardwebhooks package for the same input', () => {
    const secret = newSecret();
    const body = '{"jobId":"x","note":"héllo ✓"}';
    const timestamp = nowSeconds();
    const ours = signWebhook({ id: 'msg_1', timestamp, body, secrets: [secret] })['webhook-signature'];
    expect(ours).toBe(new Webhook(secret).sign('msg_1', new Date(timestamp * 1000), body));
  });

  it('signs a Buffer body over its bytes, like the same string', () => {
    const secret = newSecret();
    const body = '{"a":"é"}';
    const fromString = signWebhook({ id: 'm', timestamp: 1, body, secrets: [secret] });
    const fromBuffer = signWebhook({ id: 'm', timestamp: 1, body: Buffer.from(body, 'utf8'), secrets: [secret] });
    expect(fromBuffer).toEqual(fromString);
  });

  it('gives one v1 signature per secret, in the order given, each verifiable with its own secret alone', () => {
    const secrets = [newSecret(), newSecret(), newSecret()];
    const body = '{"status":"completed"}';
    const headers = signWebhook({ id: 'msg_multi', timestamp: nowSeconds(), body, secrets });
    const parts = headers['webhook-signature'].split(' ');
    expect(parts).toHaveLength(3);
    parts.forEach((part, i) => {
      expect(part).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
      expect(part).toBe(signWebhook({ ...headersInput(headers, body), secrets: [secrets[i]!] })['webhook-signature']);
    });
    for (const secret of secrets) {
      expect(new Webhook(secret).verify(body, { ...headers })).toEqual({ status: 'completed' });
    }
    expect(() => new Webhook(newSecret()).verify(body, { ...headers })).toThrow(WebhookVerificationError);
  });

  it('signs an empty body (a GET) so that a receiver verifies it with an empty payload', () => {
    const secret = newSecret();
    const headers = signWebhook({ id: 'msg_get', timestamp: nowSeconds(), body: '', secrets: [secret] });
    expect(new Webhook(secret).verify('', { ...headers })).toBeUndefined();
  });

  it('fails verification when one byte of the body changes', () => {
    const secret = newSecret();
    const headers = signWebhook({ id: 'msg_x', timestamp: nowSeconds(), body: '{"n":1}', secrets: [secret] });
    expect(() => new Webhook(secret).verify('{"n":2}', { ...headers })).toThrow(WebhookVerificationError);
  });

  it('refuses no secrets and a timestamp that is not whole seconds', () => {
    expect(() => signWebhook({ id: 'm', timestamp: 1, body: '', secrets: [] })).toThrow(TypeError);
    expect(() => signWebhook({ id: 'm', timestamp: 1.5, body: '', secrets: [VECTOR.secret] })).toThrow(TypeError);
    expect(() => signWebhook({ id: 'm', timestamp: -1, body: '', secrets: [VECTOR.secret] })).toThrow(TypeError);
  });
});

function headersInput(headers: { 'webhook-id': string; 'webhook-timestamp': string }, body: string) {
  return { id: headers['webhook-id'], timestamp: Number(headers['webhook-timestamp']), body };
}

describe('parseSigningSecret', () => {
  it('decodes the base64 after whsec_', () => {
    const key = randomBytes(24);
    expect(parseSigningSecret(`whsec_${key.toString('base64')}`).equals(key)).toBe(true);
  });

  it.each([
    ['empty', ''],
    ['only the prefix', 'whsec_'],
    ['not base64', 'whsec_not*base64!'],
    ['bad padding', 'whsec_abc'],
    ['base64url alphabet', 'whsec_ab-_'],
  ])('refuses %s without repeating the secret', (_what, secret) => {
    let message = '';
    try {
      parseSigningSecret(secret);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/signing secret/);
    if (secret.length > 'whsec_'.length) expect(message).not.toContain(secret.slice('whsec_'.length));
  });
});

describe('withWebhookHeaders', () => {
  it("replaces a job's own webhook headers in any case and keeps the others", () => {
    const signed = { 'webhook-id': 'msg_1', 'webhook-timestamp': '1', 'webhook-signature': 'v1,x' };
    const out = withWebhookHeaders({ 'Webhook-Id': 'spoofed', 'WEBHOOK-SIGNATURE': 'v1,y', 'x-other': 'kept' }, signed);
    expect(out).toEqual({ 'x-other': 'kept', ...signed });
  });
});
