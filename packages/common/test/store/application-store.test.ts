import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { redisKeys } from '../../src/keys/redis-keys.js';
import { activeSecrets, ApplicationStore, hashApiKey } from '../../src/store/application-store.js';

/** Against the real Redis, under a random prefix. */
const prefix = `t-apps-${randomBytes(4).toString('hex')}`;
const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const secretKey = randomBytes(32).toString('base64');
const store = new ApplicationStore(redis, { prefix, secretKey });

afterAll(async () => {
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

describe('ApplicationStore', () => {
  it('keeps only the hash of the key; authenticates until revoked', async () => {
    const { application, apiKey, signingSecret } = await store.create({
      name: 'a',
      rateLimit: { max: 5, windowMs: 1000 },
    });
    const everything = JSON.stringify(await redis.hgetall(redisKeys(prefix).applicationRecord(application.id)));
    expect(everything).not.toContain(apiKey);
    // Sealed with RELAY_SECRET_KEY: the secret is not in Redis in clear.
    expect(everything).not.toContain(signingSecret.slice('whsec_'.length));
    expect(await redis.get(`${prefix}:apikey:${hashApiKey(apiKey)}`)).toBe(application.id);

    expect(await store.authenticate(apiKey)).toEqual({ id: application.id, rateLimit: { max: 5, windowMs: 1000 } });
    expect(await store.authenticate(`${apiKey}x`)).toBeNull();
    expect((await store.revoke(application.id))?.revokedAt).toEqual(expect.any(String));
    expect(await store.authenticate(apiKey)).toBeNull();
  });

  it('rotates: the previous secret signs through the grace period; a grace of 0 retires every earlier one', async () => {
    const { application, signingSecret: first } = await store.create({ name: 'b' });
    expect((await store.signing(application.id))?.secrets).toEqual([first]);
    const second = (await store.rotateSigningSecret(application.id, 3600))!.signingSecret;
    expect((await store.signing(application.id))?.secrets).toEqual([second, first]);
    const third = (await store.rotateSigningSecret(application.id, 0))!;
    expect((await store.signing(application.id))?.secrets).toEqual([third.signingSecret]);
    expect(third.application.signingSecrets).toEqual([{ createdAt: expect.any(String), expiresAt: null }]);
    expect(await store.rotateSigningSecret('app_missing', 10)).toBeNull();
  });

  it('moves a record of the layout before hash tags into its slot, once, and it authenticates after', async () => {
    const { application, apiKey } = await store.create({ name: 'old' });
    const record = redisKeys(prefix).applicationRecord(application.id);
    const old = `${prefix}:application:${application.id}`;
    await redis.rename(record, old);
    expect(await store.authenticate(apiKey)).toBeNull();
    expect(await store.migrateRecords(prefix)).toBe(1);
    expect(await redis.exists(old)).toBe(0);
    expect(await store.authenticate(apiKey)).toEqual({ id: application.id, rateLimit: null });
    expect((await store.get(application.id))?.name).toBe('old');
    expect(await store.migrateRecords(prefix)).toBe(0);
  });

  it('activeSecrets drops expired secrets and orders newest first', () => {
    const now = new Date('2026-01-02T00:00:00Z');
    const list = [
      { secret: 'old', createdAt: '2026-01-01T00:00:00.000Z', expiresAt: '2026-01-01T12:00:00.000Z' },
      { secret: 'grace', createdAt: '2026-01-01T06:00:00.000Z', expiresAt: '2026-01-03T00:00:00.000Z' },
      { secret: 'current', createdAt: '2026-01-01T18:00:00.000Z', expiresAt: null },
    ];
    expect(activeSecrets(list, now).map((s) => s.secret)).toEqual(['current', 'grace']);
  });
});
