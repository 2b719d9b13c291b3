import { randomBytes } from 'node:crypto';
import amqp from 'amqplib';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createLogger,
  decodeEventMessage,
  queueNames,
  type EventBody,
  type EventMessage,
  type Subscription,
} from '@relay/common';
import { buildApp } from '../src/app.js';
import { loadBackendConfig } from '../src/config.js';

/**
 * The subscription routes through app.inject, on the real app (real Redis
 * and RabbitMQ under a random prefix, keys on): CRUD per application, the
 * URL and header checks, the delivery log's pages and resends (read back
 * from the events queue).
 */

const prefix = `t-subroutes-${randomBytes(4).toString('hex')}`;
const masterKey = randomBytes(32).toString('base64');
const config = loadBackendConfig({ RELAY_PREFIX: prefix, LOG_LEVEL: 'silent', RELAY_MASTER_KEY: masterKey });
const names = queueNames(prefix);
let app: Awaited<ReturnType<typeof buildApp>>;
let conn: amqp.ChannelModel;
let ch: amqp.Channel;
const keys: { a: string; b: string; aId: string } = { a: '', b: '', aId: '' };

beforeAll(async () => {
  app = await buildApp({ config, log: createLogger({ name: 'subscriptions-test', level: 'silent' }) });
  for (const which of ['a', 'b'] as const) {
    const res = await app.inject({
      method: 'POST',
      url: '/api/applications',
      headers: { authorization: `Bearer ${masterKey}` },
      payload: { name: `app-${which}` },
    });
    expect(res.statusCode).toBe(201);
    keys[which] = res.json<{ apiKey: string }>().apiKey;
    if (which === 'a') keys.aId = res.json<{ id: string }>().id;
  }
  conn = await amqp.connect(config.rabbitmqUrl);
  ch = await conn.createChannel();
});

afterAll(async () => {
  await app?.close();
  for (const name of names.allQueues()) await ch.deleteQueue(name);
  await ch.deleteExchange(names.deadLetterExchange);
  if (names.dueExchange) await ch.deleteExchange(names.dueExchange);
  await conn.close();
  const redis = new Redis(config.redisUrl);
  const found = await redis.keys(`${prefix}:*`);
  if (found.length) await redis.del(...found);
  redis.disconnect();
});

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';
const call = (method: Method, url: string, payload?: unknown, key = keys.a) =>
  app.inject({ method, url, headers: { authorization: `Bearer ${key}` }, ...(payload ? { payload } : {}) });

const newSubscription = {
  name: 'acme alerts',
  url: 'https://hooks.example.test/relay',
  events: ['failed', 'dead_lettered'],
  filters: { metadata: { tenant: 'acme', region: 'eu' } },
  headers: { 'x-team': 'ops' },
};

/** The messages on the events queue now (taken off it). */
async function takeEvents(): Promise<EventMessage[]> {
  const out: EventMessage[] = [];
  for (;;) {
    const got = await ch.get(names.events, { noAck: true });
    if (!got) return out;
    const message = decodeEventMessage(got.content);
    expect(message).not.toBeNull();
    out.push(message!);
  }
}

function eventBody(n: number): EventBody {
  return {
    jobId: `00000000-0000-4000-8000-00000000000${n}`,
    event: 'failed',
    status: 'failed',
    timestamp: new Date().toISOString(),
    sequence: 9,
    application: keys.aId,
    metadata: { tenant: 'acme', region: 'eu' },
    error: { code: 'RELAY_ERR_HTTP_STATUS', message: 'target answered 500' },
  };
}

describe('subscriptions CRUD', () => {
  it('creates, reads, lists, changes and deletes within the application of the key', async () => {
    const created = await call('POST', '/api/subscriptions', newSubscription);
    expect(created.statusCode).toBe(201);
    const sub = created.json<Subscription>();
    expect(created.headers.location).toBe(`/api/subscriptions/${sub.id}`);
    expect(sub).toMatchObject({ ...newSubscription, application: keys.aId, enabled: true, failingSince: null });

    expect((await call('GET', `/api/subscriptions/${sub.id}`)).json()).toEqual(sub);
    expect((await call('GET', '/api/subscriptions')).json()).toEqual({ subscriptions: [sub] });
    // Another application's key sees nothing of it.
    const other = await call('GET', `/api/subscriptions/${sub.id}`, undefined, keys.b);
    expect(other.statusCode).toBe(404);
    expect(other.json()).toMatchObject({ code: 'RELAY_ERR_SUBSCRIPTION_NOT_FOUND' });
    expect((await call('GET', '/api/subscriptions', undefined, keys.b)).json()).toEqual({ subscriptions: [] });

    const disabled = await call('PATCH', `/api/subscriptions/${sub.id}`, { enabled: false, name: 'paused' });
    expect(disabled.statusCode).toBe(200);
    expect(disabled.json()).toMatchObject({ enabled: false, disabledReason: 'manual', name: 'paused' });
    // A patch that leaves `enabled` out leaves it as it is.
    const renamed = await call('PATCH', `/api/subscriptions/${sub.id}`, { name: 'still paused' });
    expect(renamed.json()).toMatchObject({ enabled: false, disabledReason: 'manual', name: 'still paused' });
    const enabled = await call('PATCH', `/api/subscriptions/${sub.id}`, { enabled: true });
    expect(enabled.json()).toMatchObject({ enabled: true, disabledReason: null, disabledAt: null });

    expect((await call('PATCH', `/api/subscriptions/${sub.id}`, { name: 'x' }, keys.b)).statusCode).toBe(404);
    expect((await call('DELETE', `/api/subscriptions/${sub.id}`, undefined, keys.b)).statusCode).toBe(404);
    const deleted = await call('DELETE', `/api/subscriptions/${sub.id}`);
    expect(deleted.statusCode).toBe(204);
    expect(deleted.body).toBe('');
    expect((await call('GET', `/api/subscriptions/${sub.id}`)).statusCode).toBe(404);
  });

  it('names every problem at once: forbidden address, user info, reserved headers, schema', async () => {
    const res = await call('POST', '/api/subscriptions', {
      ...newSubscription,
      url: 'http://127.0.0.1:8080/hook',
      headers: { 'Content-Type': 'text/plain', 'webhook-signature': 'x', 'X-Job-Id': 'y', connection: 'close' },
      events: ['nope'],
    });
    expect(res.statusCode).toBe(400);
    const body = res.json<{ code: string; details: { path: string; message: string }[] }>();
    expect(body.code).toBe('RELAY_ERR_VALIDATION');
    const paths = body.details.map((d) => d.path);
    expect(paths).toContain('/body/url');
    expect(paths.some((p) => p.startsWith('/body/events'))).toBe(true);
    expect(paths.some((p) => p.startsWith('/body/headers'))).toBe(true);

    const userInfo = await call('POST', '/api/subscriptions', {
      ...newSubscription,
      url: 'https://u:p@hooks.example.test/',
    });
    expect(userInfo.statusCode).toBe(400);
    expect(userInfo.json<{ details: { path: string }[] }>().details.map((d) => d.path)).toEqual(['/body/url']);

    const patch = await call('PATCH', '/api/subscriptions/sub_000000000000000000000000', { url: 'http://10.0.0.1/' });
    expect(patch.statusCode).toBe(400);
    expect((await call('PATCH', '/api/subscriptions/sub_000000000000000000000000', { name: 'x' })).statusCode).toBe(
      404,
    );
    expect((await call('GET', '/api/subscriptions/not-an-id')).statusCode).toBe(400);
  });

  it('refuses every header a delivery sets itself, in any case; allows others', async () => {
    for (const name of [
      'content-type',
      'Webhook-Id',
      'webhook-timestamp',
      'x-job-status',
      'HOST',
      'transfer-encoding',
    ]) {
      const res = await call('POST', '/api/subscriptions', { ...newSubscription, headers: { [name]: 'v' } });
      expect(res.statusCode, name).toBe(400);
    }
    const ok = await call('POST', '/api/subscriptions', { ...newSubscription, headers: { 'x-webhook-team': 'v' } });
    expect(ok.statusCode).toBe(201);
    await call('DELETE', `/api/subscriptions/${ok.json<Subscription>().id}`);
  });
});

describe('delivery log and resends', () => {
  it('pages the log newest first, filters by status, refuses a foreign cursor', async () => {
    const sub = (await call('POST', '/api/subscriptions', newSubscription)).json<Subscription>();
    for (let n = 0; n < 5; n++) {
      await app.deliveryLog.record(
        keys.aId,
        sub.id,
        { id: `msg_page${n}`, body: eventBody(n) },
        {
          status: n === 1 ? 'delivered' : 'failed',
          attempts: 3,
          lastStatusCode: 500,
          error: null,
          nextAttemptAt: null,
        },
      );
      await new Promise((r) => setTimeout(r, 2));
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = `limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const res = await call('GET', `/api/subscriptions/${sub.id}/deliveries?${query}`);
      expect(res.statusCode).toBe(200);
      const page = res.json<{ deliveries: { id: string }[]; nextCursor: string | null }>();
      seen.push(...page.deliveries.map((d) => d.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual(['msg_page4', 'msg_page3', 'msg_page2', 'msg_page1', 'msg_page0']);

    const delivered = await call('GET', `/api/subscriptions/${sub.id}/deliveries?status=delivered`);
    expect(delivered.json<{ deliveries: { id: string }[] }>().deliveries.map((d) => d.id)).toEqual(['msg_page1']);
    const bad = await call('GET', `/api/subscriptions/${sub.id}/deliveries?cursor=bm9wZQ`);
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ code: 'RELAY_ERR_INVALID_CURSOR' });
    expect((await call('GET', `/api/subscriptions/${sub.id}/deliveries`, undefined, keys.b)).statusCode).toBe(404);
    await call('DELETE', `/api/subscriptions/${sub.id}`);
  });

  it('resends one delivery to the current URL under the same webhook-id, and the failed ones since a time', async () => {
    const sub = (await call('POST', '/api/subscriptions', newSubscription)).json<Subscription>();
    const before = Date.now();
    const bodies = [0, 1, 2, 3].map(eventBody);
    for (let n = 0; n < 4; n++) {
      await app.deliveryLog.record(
        keys.aId,
        sub.id,
        { id: `msg_resend${n}`, body: bodies[n]! },
        {
          status: n === 3 ? 'delivered' : 'failed',
          attempts: 5,
          lastStatusCode: 500,
          error: null,
          nextAttemptAt: null,
        },
      );
    }
    await takeEvents();
    // The endpoint moved: the resend goes where the subscription points now.
    await call('PATCH', `/api/subscriptions/${sub.id}`, { url: 'https://new-hooks.example.test/relay' });

    const one = await call('POST', `/api/subscriptions/${sub.id}/deliveries/msg_resend0/resend`);
    expect(one.statusCode).toBe(202);
    expect(one.json()).toEqual({ resent: 1 });
    const [message, ...rest] = await takeEvents();
    expect(rest).toEqual([]);
    expect(message).toMatchObject({ kind: 'event', application: keys.aId, body: bodies[0] });
    expect(message!.destinations).toEqual([
      {
        kind: 'subscription',
        id: sub.id,
        url: 'https://new-hooks.example.test/relay',
        webhookId: 'msg_resend0',
        delivery: 1,
      },
    ]);
    const entry = (await app.deliveryLog.get(keys.aId, sub.id, 'msg_resend0'))!.delivery;
    expect(entry).toMatchObject({ status: 'pending', attempts: 0 });

    const missing = await call('POST', `/api/subscriptions/${sub.id}/deliveries/msg_nope/resend`);
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ code: 'RELAY_ERR_DELIVERY_NOT_FOUND' });

    // msg_resend0 is pending now, msg_resend3 delivered: two failed ones remain.
    const since = new Date(before - 1000).toISOString();
    const bulk = await call('POST', `/api/subscriptions/${sub.id}/deliveries/resend`, { since });
    expect(bulk.statusCode).toBe(202);
    expect(bulk.json()).toEqual({ resent: 2, more: false });
    expect((await takeEvents()).map((m) => m.destinations[0]!.webhookId).sort()).toEqual([
      'msg_resend1',
      'msg_resend2',
    ]);
    // Nothing failed is left: a second call resends nothing.
    expect((await call('POST', `/api/subscriptions/${sub.id}/deliveries/resend`, { since })).json()).toEqual({
      resent: 0,
      more: false,
    });
    // A time after every event: nothing.
    const future = new Date(Date.now() + 60_000).toISOString();
    await app.deliveryLog.record(
      keys.aId,
      sub.id,
      { id: 'msg_resend1', body: eventBody(1) },
      { status: 'failed', attempts: 1, lastStatusCode: 500, error: null, nextAttemptAt: null },
    );
    expect((await call('POST', `/api/subscriptions/${sub.id}/deliveries/resend`, { since: future })).json()).toEqual({
      resent: 0,
      more: false,
    });
    expect(
      (await call('POST', `/api/subscriptions/${sub.id}/deliveries/resend`, { since: 'yesterday' })).statusCode,
    ).toBe(400);
  });

  it('refuses to resend to a disabled subscription (its events are dropped) and leaves the log as it was', async () => {
    const sub = (await call('POST', '/api/subscriptions', { ...newSubscription, enabled: false })).json<Subscription>();
    const failed = { status: 'failed', attempts: 5, lastStatusCode: 500, error: null, nextAttemptAt: null } as const;
    await app.deliveryLog.record(keys.aId, sub.id, { id: 'msg_off0', body: eventBody(0) }, failed);
    await takeEvents();
    const one = await call('POST', `/api/subscriptions/${sub.id}/deliveries/msg_off0/resend`);
    expect(one.statusCode).toBe(409);
    expect(one.json()).toMatchObject({ code: 'RELAY_ERR_SUBSCRIPTION_DISABLED' });
    const since = new Date(Date.now() - 60_000).toISOString();
    const bulk = await call('POST', `/api/subscriptions/${sub.id}/deliveries/resend`, { since });
    expect(bulk.statusCode).toBe(409);
    expect(await takeEvents()).toEqual([]);
    expect((await app.deliveryLog.get(keys.aId, sub.id, 'msg_off0'))!.delivery).toMatchObject({ status: 'failed' });
    // Enabled again, the same resend goes.
    await call('PATCH', `/api/subscriptions/${sub.id}`, { enabled: true });
    expect((await call('POST', `/api/subscriptions/${sub.id}/deliveries/msg_off0/resend`)).statusCode).toBe(202);
    expect((await takeEvents()).map((m) => m.destinations[0]!.webhookId)).toEqual(['msg_off0']);
    await call('DELETE', `/api/subscriptions/${sub.id}`);
  });
});

describe('per-job webhooks', () => {
  const spec = {
    targetUrl: 'https://api.example.test/orders',
    method: 'POST',
    webhooks: { completed: 'https://hooks.example.test/done', progress: 'https://hooks.example.test/progress' },
  };

  it("shows the spec's map, merges changes (null removes), answers on both paths", async () => {
    const accepted = await call('POST', '/api/jobs', spec);
    expect(accepted.statusCode).toBe(202);
    const { jobId } = accepted.json<{ jobId: string }>();
    expect((await call('GET', `/api/job/${jobId}`)).json()).toMatchObject({ webhooks: spec.webhooks });

    const changed = await call('POST', `/api/job/${jobId}/webhooks`, {
      webhooks: { failed: 'https://hooks.example.test/failed', progress: null },
    });
    expect(changed.statusCode).toBe(200);
    const expected = { completed: 'https://hooks.example.test/done', failed: 'https://hooks.example.test/failed' };
    expect(changed.json()).toEqual({ jobId, webhooks: expected });
    expect((await call('GET', `/api/job/${jobId}`)).json<{ webhooks: unknown }>().webhooks).toEqual(expected);

    const alias = await call('POST', `/api/jobs/${jobId}/webhooks`, { webhooks: { completed: null, failed: null } });
    expect(alias.json()).toEqual({ jobId, webhooks: {} });
    // An emptied map shadows the spec's: nothing is in effect.
    expect((await call('GET', `/api/jobs/${jobId}`)).json<{ webhooks: unknown }>().webhooks).toEqual({});
    // Another application's key does not reach the job.
    expect(
      (await call('POST', `/api/job/${jobId}/webhooks`, { webhooks: { '*': 'https://x.example.test/' } }, keys.b))
        .statusCode,
    ).toBe(404);
  });

  it('a job without webhooks shows {}; a finished job refuses changes; bad URLs and keys are 400', async () => {
    const { jobId } = (await call('POST', '/api/jobs', { targetUrl: 'https://api.example.test/x' })).json<{
      jobId: string;
    }>();
    expect((await call('GET', `/api/job/${jobId}`)).json<{ webhooks: unknown }>().webhooks).toEqual({});

    const forbidden = await call('POST', `/api/job/${jobId}/webhooks`, {
      webhooks: { failed: 'http://169.254.169.254/latest', nope: 'https://hooks.example.test/' },
    });
    expect(forbidden.statusCode).toBe(400);
    const paths = forbidden.json<{ details: { path: string }[] }>().details.map((d) => d.path);
    expect(paths).toEqual(expect.arrayContaining(['/body/webhooks/failed']));
    expect(paths.length).toBeGreaterThanOrEqual(2);
    expect((await call('POST', `/api/job/${jobId}/webhooks`, { webhooks: {} })).statusCode).toBe(400);

    expect((await call('POST', `/api/job/${jobId}/cancel`)).json()).toMatchObject({ status: 'cancelled' });
    const finished = await call('POST', `/api/job/${jobId}/webhooks`, {
      webhooks: { '*': 'https://hooks.example.test/' },
    });
    expect(finished.statusCode).toBe(409);
    expect(finished.json()).toMatchObject({ code: 'RELAY_ERR_JOB_FINISHED' });

    const unknown = await call('POST', '/api/job/00000000-0000-4000-8000-000000000000/webhooks', {
      webhooks: { '*': 'https://hooks.example.test/' },
    });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toMatchObject({ code: 'RELAY_ERR_JOB_NOT_FOUND' });
  });

  it('refuses a job spec whose webhook points at a forbidden address', async () => {
    const res = await call('POST', '/api/jobs', { ...spec, webhooks: { completed: 'http://[::1]/x' } });
    expect(res.statusCode).toBe(400);
    expect(res.json<{ details: { path: string }[] }>().details.map((d) => d.path)).toEqual([
      '/body/webhooks/completed',
    ]);
  });
});
