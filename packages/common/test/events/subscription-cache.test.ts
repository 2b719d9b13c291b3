import { describe, expect, it } from 'vitest';
import { SubscriptionCache } from '../../src/events/subscription-cache.js';
import { SubscriptionStore } from '../../src/events/subscription-store.js';
import type { EventSubject } from '../../src/events/ports.js';
import { ServiceUnavailableError } from '../../src/errors.js';
import { redisOnRandomPrefix } from '../support/store-fixtures.js';

/** Against the real Redis, under a random prefix; the cache's clock is a variable. */
const { prefix, redis } = redisOnRandomPrefix('subcache');
const store = new SubscriptionStore(redis, { prefix });
const completed: EventSubject = {
  event: 'completed',
  metadata: { tenant: 'acme' },
  host: 'h.test',
  status: 'completed',
};

/** Counts the calls the cache makes to the store. */
function counting(s: SubscriptionStore) {
  const calls = { version: 0, snapshot: 0 };
  const spy = Object.create(s) as SubscriptionStore;
  spy.version = (app) => (calls.version++, s.version(app));
  spy.snapshot = (app) => (calls.snapshot++, s.snapshot(app));
  return { spy, calls };
}

describe('SubscriptionCache', () => {
  it('reads the version at most once per refresh interval and rebuilds only when it moved', async () => {
    let now = 1_000_000;
    const { spy, calls } = counting(store);
    const cache = new SubscriptionCache(spy, { refreshMs: 1000, now: () => now });

    expect(await cache.match('app', completed)).toEqual([]);
    expect(calls).toEqual({ version: 0, snapshot: 1 });

    const sub = await store.create('app', {
      name: 'acme',
      url: 'https://hooks.example.test/in',
      events: ['completed'],
      filters: { metadata: { tenant: 'acme' } },
    });
    // Within the interval: the old index, no Redis call.
    now += 999;
    expect(await cache.match('app', completed)).toEqual([]);
    expect(calls).toEqual({ version: 0, snapshot: 1 });

    // Interval over: one GET of the version, which moved, so one rebuild.
    now += 1;
    expect((await cache.match('app', completed)).map((s) => s.id)).toEqual([sub.id]);
    expect(calls).toEqual({ version: 1, snapshot: 2 });

    // Unchanged version: a GET, no rebuild.
    now += 1000;
    expect((await cache.match('app', completed)).map((s) => s.id)).toEqual([sub.id]);
    expect(calls).toEqual({ version: 2, snapshot: 2 });

    // Disabled: gone from the index after the next check.
    await store.update('app', sub.id, { enabled: false });
    now += 1000;
    expect(await cache.match('app', completed)).toEqual([]);
    expect(calls).toEqual({ version: 3, snapshot: 3 });
  });

  it('shares one refresh among concurrent matches and keeps applications apart', async () => {
    const { spy, calls } = counting(store);
    const cache = new SubscriptionCache(spy, { now: () => 0 });
    await store.create('other', { name: 'all', url: 'https://hooks.example.test/in', events: ['*'] });
    const results = await Promise.all(Array.from({ length: 5 }, () => cache.match('other', completed)));
    expect(results.map((r) => r.length)).toEqual([1, 1, 1, 1, 1]);
    expect(calls.snapshot).toBe(1);
    expect(await cache.match('nobody', completed)).toEqual([]);
  });

  it('keeps the last index while Redis fails, and errs for an application never indexed', async () => {
    let now = 0;
    let down = false;
    const failing = Object.create(store) as SubscriptionStore;
    const outage = () => Promise.reject(new ServiceUnavailableError('Redis', new Error('down')));
    failing.version = (app) => (down ? outage() : store.version(app));
    failing.snapshot = (app) => (down ? outage() : store.snapshot(app));
    const cache = new SubscriptionCache(failing, { now: () => now });
    await store.create('kept', { name: 'all', url: 'https://hooks.example.test/in', events: ['*'] });
    expect(await cache.match('kept', completed)).toHaveLength(1);
    down = true;
    now += 5000;
    expect(await cache.match('kept', completed)).toHaveLength(1);
    await expect(cache.match('never', completed)).rejects.toBeInstanceOf(ServiceUnavailableError);
  });
});
