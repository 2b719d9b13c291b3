import { describe, expect, it } from 'vitest';
import { DeliveryLog } from '../../src/events/delivery-log.js';
import type { EventBody } from '../../src/events/event-message.js';
import type { DeliveryOutcome } from '../../src/events/ports.js';
import { SubscriptionStore } from '../../src/events/subscription-store.js';
import { RelayError } from '../../src/errors.js';
import { redisKeys } from '../../src/keys/redis-keys.js';
import { redisOnRandomPrefix } from '../support/store-fixtures.js';

/** Against the real Redis, under a random prefix; the log's clock is a variable. */
const { prefix, redis } = redisOnRandomPrefix('deliveries');
const subscriptions = new SubscriptionStore(redis, { prefix });
let now = 1_800_000_000_000;
const ttlSeconds = 3600;
const log = new DeliveryLog(redis, { prefix, ttlSeconds, subscriptions, now: () => now });

function body(n: number): EventBody {
  return {
    jobId: `job-${n}`,
    event: 'completed',
    status: 'completed',
    timestamp: new Date(now).toISOString(),
    sequence: 5,
    application: 'app',
    metadata: { n: String(n) },
    // An empty array and object survive the store as they are.
    result: {
      statusCode: 200,
      response: { statusCode: 200, headers: {}, body: { list: [], obj: {} }, truncated: false, bodyBytes: 2 },
    },
  };
}

const outcome = (status: DeliveryOutcome['status'], attempts: number, code: number | null = null): DeliveryOutcome => ({
  status,
  attempts,
  lastStatusCode: code,
  error: status === 'delivered' ? null : { code: 'RELAY_ERR_HTTP_STATUS', message: 'non-2xx' },
  nextAttemptAt: status === 'retrying' ? new Date(now + 1000).toISOString() : null,
});

describe('DeliveryLog', () => {
  it('pages newest first with an opaque cursor, filters by status, refuses a foreign cursor', async () => {
    const sub = 'sub_aaaaaaaaaaaaaaaaaaaaaaaa';
    for (let n = 0; n < 7; n++) {
      // Two deliveries share each ms: ties are ordered by id.
      if (n % 2 === 0) now += 1;
      await log.record(
        'app',
        sub,
        { id: `msg_d${n}`, body: body(n) },
        outcome(n % 3 === 0 ? 'failed' : 'delivered', 1, 500),
      );
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await log.page('app', sub, { limit: 3, cursor });
      expect(page.deliveries.length).toBeLessThanOrEqual(3);
      seen.push(...page.deliveries.map((d) => d.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual(['msg_d6', 'msg_d5', 'msg_d4', 'msg_d3', 'msg_d2', 'msg_d1', 'msg_d0']);

    const failed = await log.page('app', sub, { limit: 10, cursor: null, status: 'failed' });
    expect(failed.deliveries.map((d) => d.id)).toEqual(['msg_d6', 'msg_d3', 'msg_d0']);
    expect(failed.nextCursor).toBeNull();
    expect(failed.deliveries[0]).toMatchObject({
      subscriptionId: sub,
      jobId: 'job-6',
      event: 'completed',
      sequence: 5,
      status: 'failed',
      attempts: 1,
      lastStatusCode: 500,
    });
    expect(Object.keys(failed.deliveries[0]!)).not.toContain('rank');

    await expect(log.page('app', sub, { limit: 3, cursor: 'bm9wZQ' })).rejects.toBeInstanceOf(RelayError);
    await expect(log.page('app', sub, { limit: 3, cursor: 'bm9wZQ' })).rejects.toMatchObject({
      code: 'RELAY_ERR_INVALID_CURSOR',
    });
    // Another application's log is another log.
    expect((await log.page('other', sub, { limit: 3, cursor: null })).deliveries).toEqual([]);
  });

  it('never moves a record backwards; keeps the first body and creation time; a resend starts over', async () => {
    const sub = 'sub_bbbbbbbbbbbbbbbbbbbbbbbb';
    const first = body(1);
    await log.record('app', sub, { id: 'msg_x', body: first }, outcome('retrying', 2, 503));
    const createdAt = (await log.get('app', sub, 'msg_x'))!.delivery.createdAt;
    now += 10;
    await log.record('app', sub, { id: 'msg_x', body: body(2) }, outcome('delivered', 3, 200));
    // A late report of attempt 2, and a duplicate of attempt 3 as retrying: both older.
    await log.record('app', sub, { id: 'msg_x', body: first }, outcome('failed', 2, 500));
    await log.record('app', sub, { id: 'msg_x', body: first }, outcome('retrying', 3, 503));
    const got = await log.get('app', sub, 'msg_x');
    expect(got!.delivery).toMatchObject({ status: 'delivered', attempts: 3, lastStatusCode: 200, createdAt });
    expect(got!.delivery.updatedAt).not.toBe(createdAt);
    expect(got!.body).toEqual(first);

    const previous = await log.markPending('app', sub, 'msg_x');
    expect(previous).toMatchObject({ status: 'delivered', attempts: 3 });
    expect((await log.get('app', sub, 'msg_x'))!.delivery).toMatchObject({ status: 'pending', attempts: 0, createdAt });
    await log.record('app', sub, { id: 'msg_x', body: first }, outcome('failed', 1, 500));
    expect((await log.get('app', sub, 'msg_x'))!.delivery).toMatchObject({ status: 'failed', attempts: 1 });
    await log.restore('app', sub, previous!);
    expect((await log.get('app', sub, 'msg_x'))!.delivery).toMatchObject({ status: 'delivered', attempts: 3 });
    expect(await log.markPending('app', sub, 'msg_nope')).toBeNull();
  });

  it('expires with the TTL and drops entries older than it on write', async () => {
    const sub = 'sub_cccccccccccccccccccccccc';
    const k = redisKeys(prefix, 'app');
    await log.record('app', sub, { id: 'msg_old', body: body(1) }, outcome('failed', 1));
    const ttl = await redis.ttl(k.subscriptionDeliveries(sub));
    expect(ttl).toBeGreaterThan(ttlSeconds - 5);
    expect(ttl).toBeLessThanOrEqual(ttlSeconds);
    expect(await redis.ttl(k.subscriptionDeliveryRecords(sub))).toBeGreaterThan(ttlSeconds - 5);
    now += ttlSeconds * 1000 + 1;
    await log.record('app', sub, { id: 'msg_new', body: body(2) }, outcome('failed', 1));
    expect(await redis.zrange(k.subscriptionDeliveries(sub), 0, -1)).toEqual(['msg_new']);
    expect(await log.get('app', sub, 'msg_old')).toBeNull();
  });

  it('since: the deliveries of a status from a time on, bounded, saying whether more match', async () => {
    const sub = 'sub_dddddddddddddddddddddddd';
    const start = now;
    for (let n = 0; n < 6; n++) {
      now += 5;
      await log.record('app', sub, { id: `msg_s${n}`, body: body(n) }, outcome(n === 2 ? 'delivered' : 'failed', 1));
    }
    const all = await log.since('app', sub, { sinceMs: start + 10, status: 'failed', max: 10 });
    expect(all.found.map((f) => f.delivery.id)).toEqual(['msg_s5', 'msg_s4', 'msg_s3', 'msg_s1']);
    expect(all.found[0]!.body).toEqual(body(5));
    expect(all.more).toBe(false);
    const bounded = await log.since('app', sub, { sinceMs: start, status: 'failed', max: 2 });
    expect(bounded.found).toHaveLength(2);
    expect(bounded.more).toBe(true);
  });

  it('health: a failing run disables the subscription once it lasted disableAfterMs, for one caller only', async () => {
    const sub = await subscriptions.create('app', { name: 'h', url: 'https://hooks.example.test/in', events: ['*'] });
    const t0 = 5_000_000;
    expect(await log.failed('app', sub.id, t0, 1000)).toBeNull();
    expect((await subscriptions.get('app', sub.id))!.failingSince).toBe(new Date(t0).toISOString());
    // A delivered outcome's record ends the run; the next failure starts a new one.
    await log.record('app', sub.id, { id: 'msg_ok', body: body(1) }, outcome('delivered', 1, 200));
    expect((await subscriptions.get('app', sub.id))!.failingSince).toBeNull();
    expect(await log.failed('app', sub.id, t0 + 500, 1000)).toBeNull();
    expect(await log.failed('app', sub.id, t0 + 1400, 1000)).toBeNull();
    const results = await Promise.all(Array.from({ length: 6 }, () => log.failed('app', sub.id, t0 + 1500, 1000)));
    const disabled = results.filter((r) => r !== null);
    expect(disabled).toHaveLength(1);
    expect(disabled[0]).toMatchObject({
      id: sub.id,
      enabled: false,
      disabledReason: 'endpoint_failing',
      failingSince: new Date(t0 + 500).toISOString(),
    });
    // A deleted subscription leaves no failing run behind.
    await subscriptions.delete('app', sub.id);
    expect(await log.failed('app', sub.id, t0 + 2000, 1000)).toBeNull();
    expect(await redis.hexists(redisKeys(prefix, 'app').subscriptionHealth(), sub.id)).toBe(0);
  });
});
