import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SubscriptionStore } from '../../src/events/subscription-store.js';
import { redisKeys } from '../../src/keys/redis-keys.js';
import { RelayError } from '../../src/errors.js';
import { secretKeys } from '../../src/secrets.js';
import { redisOnRandomPrefix } from '../support/store-fixtures.js';

/** Against the real Redis, under a random prefix. */
const { prefix, redis } = redisOnRandomPrefix('subs');
const store = new SubscriptionStore(redis, { prefix, maxPerApplication: 3 });
const create = (application: string, name: string) =>
  store.create(application, { name, url: 'https://hooks.example.test/in', events: ['completed'] });

describe('SubscriptionStore', () => {
  it('creates, reads, lists per application, changes and deletes, bumping the version each time', async () => {
    const v0 = await store.version('a1');
    const created = await store.create('a1', {
      name: 'alerts',
      url: 'https://hooks.example.test/in',
      events: ['failed', 'dead_lettered'],
      filters: { metadata: { tenant: 'acme', region: 'eu' } },
      headers: { 'x-team': 'ops' },
    });
    expect(created).toMatchObject({
      application: 'a1',
      enabled: true,
      disabledReason: null,
      failingSince: null,
      filters: { metadata: { tenant: 'acme', region: 'eu' } },
    });
    expect(created.id).toMatch(/^sub_[0-9a-f]{24}$/);
    expect(await store.version('a1')).toBe(v0 + 1);
    expect(await store.get('a1', created.id)).toEqual(created);
    // Another application sees none of it.
    expect(await store.get('a2', created.id)).toBeNull();
    expect(await store.list('a2')).toEqual([]);

    const patched = await store.update('a1', created.id, { name: 'renamed', enabled: false });
    expect(patched).toMatchObject({ name: 'renamed', enabled: false, disabledReason: 'manual' });
    expect(patched!.disabledAt).toEqual(expect.any(String));
    expect(await store.version('a1')).toBe(v0 + 2);
    const snapshot = await store.snapshot('a1');
    expect(snapshot.version).toBe(v0 + 2);
    expect(snapshot.subscriptions).toEqual([patched]);

    // Re-enabling ends the failing run and clears the reason.
    await redis.hset(redisKeys(prefix, 'a1').subscriptionHealth(), created.id, Date.now() - 1000);
    expect((await store.get('a1', created.id))!.failingSince).toEqual(expect.any(String));
    const again = await store.update('a1', created.id, { enabled: true });
    expect(again).toMatchObject({ enabled: true, disabledReason: null, disabledAt: null, failingSince: null });
    expect(await redis.hexists(redisKeys(prefix, 'a1').subscriptionHealth(), created.id)).toBe(0);

    expect(await store.update('a1', 'sub_000000000000000000000000', { name: 'x' })).toBeNull();
    expect(await store.delete('a1', created.id)).toBe(true);
    expect(await store.delete('a1', created.id)).toBe(false);
    expect(await store.get('a1', created.id)).toBeNull();
    expect(await store.version('a1')).toBeGreaterThan(v0 + 3);
  });

  it('refuses a subscription over the limit with SUBSCRIPTION_LIMIT, atomically', async () => {
    const results = await Promise.allSettled(Array.from({ length: 6 }, (_, i) => create('limited', `s${i}`)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(3);
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(refused).toHaveLength(3);
    for (const r of refused) {
      expect(r.reason).toBeInstanceOf(RelayError);
      expect((r.reason as RelayError).code).toBe('RELAY_ERR_SUBSCRIPTION_LIMIT');
      expect((r.reason as RelayError).statusCode).toBe(409);
    }
    const list = await store.list('limited');
    expect(list).toHaveLength(3);
    // Deleting one makes room again.
    await store.delete('limited', list[0]!.id);
    await expect(create('limited', 'again')).resolves.toMatchObject({ name: 'again' });
  });

  it('disableFailing disables an enabled subscription for exactly one of many callers', async () => {
    const sub = await create('a3', 'flaky');
    const results = await Promise.all(Array.from({ length: 8 }, () => store.disableFailing('a3', sub.id)));
    const winners = results.filter((r) => r !== null);
    expect(winners).toHaveLength(1);
    expect(winners[0]).toMatchObject({ id: sub.id, enabled: false, disabledReason: 'endpoint_failing' });
    expect(await store.disableFailing('a3', sub.id)).toBeNull();
  });
});

describe('SubscriptionStore with RELAY_SECRET_KEY: custom headers rest sealed', () => {
  const key = randomBytes(32).toString('base64');
  const sealing = new SubscriptionStore(redis, { prefix, secretKey: secretKeys(key) });
  const clear = new SubscriptionStore(redis, { prefix });
  const token = `Bearer ${randomBytes(12).toString('hex')}`;
  const stored = async (application: string, id: string) =>
    (await redis.hget(redisKeys(prefix, application).subscriptions(), id))!;

  it('keeps the header values out of Redis, opens them on every read, and seals them again on a change', async () => {
    const created = await sealing.create('s1', {
      name: 'sealed',
      url: 'https://hooks.example.test/in',
      events: ['completed'],
      headers: { authorization: token, 'x-team': 'ops' },
    });
    expect(created.headers).toEqual({ authorization: token, 'x-team': 'ops' });
    const raw = await stored('s1', created.id);
    expect(raw).not.toContain(token);
    expect(raw).not.toContain('x-team');
    expect(JSON.parse(raw)).toMatchObject({ headers: {}, sealedHeaders: expect.stringMatching(/^s2\./) });
    expect((await sealing.get('s1', created.id))!.headers).toEqual(created.headers);
    expect((await sealing.list('s1'))[0]!.headers).toEqual(created.headers);

    const renamed = await sealing.update('s1', created.id, { name: 'renamed' });
    expect(renamed!.headers).toEqual(created.headers);
    expect(await stored('s1', created.id)).not.toContain(token);

    // Without the key the record does not open: said, never read as "no headers".
    await expect(clear.get('s1', created.id)).rejects.toThrow(/RELAY_SECRET_KEY is needed/);
    // Bound to its subscription: copied onto another one, it does not open.
    const other = await sealing.create('s1', {
      name: 'other',
      url: 'https://hooks.example.test/in',
      events: ['failed'],
    });
    const copy = { ...JSON.parse(await stored('s1', other.id)), sealedHeaders: JSON.parse(raw).sealedHeaders };
    await redis.hset(redisKeys(prefix, 's1').subscriptions(), other.id, JSON.stringify(copy));
    await expect(sealing.get('s1', other.id)).rejects.toThrow();
  });

  it('reads a record written in clear before the key was set, and seals it at its next change', async () => {
    const before = await clear.create('s2', {
      name: 'older',
      url: 'https://hooks.example.test/in',
      events: ['completed'],
      headers: { authorization: token },
    });
    expect(await stored('s2', before.id)).toContain(token);
    expect((await sealing.get('s2', before.id))!.headers).toEqual({ authorization: token });
    await sealing.update('s2', before.id, { name: 'changed' });
    expect(await stored('s2', before.id)).not.toContain(token);
    // No headers: nothing to seal.
    const bare = await sealing.create('s2', { name: 'bare', url: 'https://hooks.example.test/in', events: ['failed'] });
    expect(JSON.parse(await stored('s2', bare.id))).not.toHaveProperty('sealedHeaders');
  });
});
