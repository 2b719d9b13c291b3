import { createHmac, randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { TARGET_KEY_LABEL, targetSigningSecret } from '@relay/common';

describe('targetSigningSecret', () => {
  it('is HMAC-SHA256(secret key bytes, label), as docs/security.md gives it, and differs from the secret', () => {
    const key = randomBytes(32);
    const secret = `whsec_${key.toString('base64')}`;
    const expected = createHmac('sha256', key).update(TARGET_KEY_LABEL).digest('base64');
    expect(targetSigningSecret(secret)).toBe(`whsec_${expected}`);
    expect(targetSigningSecret(secret)).not.toBe(secret);
    expect(TARGET_KEY_LABEL).toBe('relay target-request signing v1');
  });

  it('gives a key that Standard Webhooks libraries accept, and that does not verify the callback key’s signatures', () => {
    const secret = `whsec_${randomBytes(32).toString('base64')}`;
    const now = new Date();
    const signed = new Webhook(secret).sign('msg_1', now, '{"a":1}');
    const headers = {
      'webhook-id': 'msg_1',
      'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
      'webhook-signature': signed,
    };
    expect(new Webhook(secret).verify('{"a":1}', headers)).toEqual({ a: 1 });
    expect(() => new Webhook(targetSigningSecret(secret)).verify('{"a":1}', headers)).toThrow();
  });
});
