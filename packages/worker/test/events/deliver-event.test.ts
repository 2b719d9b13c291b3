import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createLogger,
  DeliveryLog,
  SubscriptionCache,
  SubscriptionStore,
  type EventMessage,
  type Subscription,
} from '@relay/common';
import { redisOnRandomPrefix } from '../../../common/test/support/store-fixtures.js';
import { deliverEvent } from '../../src/events/deliver-event.js';
import type { EventDeliveryOutcome, EventDeps } from '../../src/events/event-deps.js';

/**
 * One delivery to a subscription with the real subscription store, delivery
 * log and endpoint health (Redis, random prefix) and a local receiver on
 * port 0; the scheduler records what would go on the broker, and the clock
 * is injected so that a run of failures can last "days".
 */

const { prefix, redis } = redisOnRandomPrefix('deliver-event');
const log = createLogger({ name: 'deliver-event-test', level: 'silent' });
const application = 'acme';
const DAY = 86_400_000;

let server: http.Server;
let base: string;
let agent: Agent;
const hits: { path: string; headers: Record<string, string>; body: string }[] = [];
const status = new Map<string, number>();

let subscriptions: SubscriptionStore;
let deliveryLog: DeliveryLog;
let scheduled: EventMessage[];
let outcomes: EventDeliveryOutcome[];
let clock: number;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '/';
      hits.push({ path, headers: req.headers as Record<string, string>, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(status.get(path) ?? 200);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  agent = new Agent({ keepAliveTimeout: 10, keepAliveMaxTimeout: 10 });
  subscriptions = new SubscriptionStore(redis, { prefix });
  deliveryLog = new DeliveryLog(redis, { prefix, ttlSeconds: 600, subscriptions });
});

afterAll(async () => {
  await agent.destroy();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  scheduled = [];
  outcomes = [];
  clock = Date.parse('2026-12-01T07:00:00.000Z');
});

function deps(overrides: Partial<EventDeps> = {}): EventDeps {
  return {
    scheduler: { schedule: async (m) => void scheduled.push(m) },
    dispatcher: agent,
    signing: { get: async () => null },
    subscriptions,
    matcher: new SubscriptionCache(subscriptions, { refreshMs: 0 }),
    deliveryLog,
    health: deliveryLog,
    random: () => 0.5,
    now: () => clock,
    maxAttempts: 3,
    retryDelayMs: 100,
    maxDelayMs: 10_000,
    timeoutMs: 2000,
    disableAfterMs: 2 * DAY,
    metrics: { eventDelivery: (o) => void outcomes.push(o) },
    ...overrides,
  };
}

function eventFor(subscription: Subscription, delivery = 1): EventMessage {
  return {
    v: 1,
    kind: 'event',
    application,
    dueAt: 0,
    body: {
      jobId: '6f1c2b9e-4a53-4c1e-9d2a-0c1f6f2a9b10',
      event: 'failed',
      status: 'failed',
      timestamp: new Date(clock).toISOString(),
      sequence: 5,
      application,
      metadata: {},
    },
    destinations: [
      {
        kind: 'subscription',
        id: subscription.id,
        url: subscription.url,
        webhookId: `msg_ev_${subscription.id}_${clock}`,
        delivery,
      },
    ],
  };
}

describe('deliverEvent to a subscription', () => {
  it('sends unsigned when the application has no secret, and logs the delivery delivered', async () => {
    const sub = await subscriptions.create(application, { name: 'ok', url: `${base}/ok`, events: ['failed'] });
    const message = eventFor(sub);
    await deliverEvent(deps(), message, message.destinations[0]!, log);
    const hit = hits.filter((h) => h.path === '/ok').at(-1)!;
    expect(hit.headers['webhook-signature']).toBeUndefined();
    expect(JSON.parse(hit.body)).toEqual(message.body);
    expect(outcomes).toEqual(['delivered']);
    const got = await deliveryLog.get(application, sub.id, message.destinations[0]!.webhookId);
    expect(got?.delivery).toMatchObject({ status: 'delivered', attempts: 1, lastStatusCode: 200, event: 'failed' });
    expect(got?.body).toEqual(message.body);
  });

  it('drops the delivery of a subscription disabled since the event, sending nothing', async () => {
    const sub = await subscriptions.create(application, { name: 'off', url: `${base}/off`, events: ['failed'] });
    await subscriptions.update(application, sub.id, { enabled: false });
    const message = eventFor(sub);
    await deliverEvent(deps(), message, message.destinations[0]!, log);
    expect(hits.filter((h) => h.path === '/off')).toEqual([]);
    expect(outcomes).toEqual(['dropped']);
  });

  it('schedules a failed delivery again, then disables an endpoint that failed for the configured days and tells the others', async () => {
    const failing = await subscriptions.create(application, {
      name: 'failing',
      url: `${base}/down`,
      events: ['failed'],
    });
    const watcher = await subscriptions.create(application, {
      name: 'ops',
      url: `${base}/ops`,
      events: ['endpoint.disabled'],
    });
    status.set('/down', 500);
    const first = eventFor(failing);
    await deliverEvent(deps(), first, first.destinations[0]!, log);
    expect(outcomes).toEqual(['retry_scheduled']);
    expect(scheduled).toHaveLength(1);
    expect(scheduled[0]!.destinations[0]).toMatchObject({
      id: failing.id,
      delivery: 2,
      webhookId: first.destinations[0]!.webhookId,
    });
    expect((await deliveryLog.get(application, failing.id, first.destinations[0]!.webhookId))?.delivery).toMatchObject({
      status: 'retrying',
      attempts: 1,
      lastStatusCode: 500,
    });

    // Two days of failures later, the last delivery of another event fails too.
    clock += 2 * DAY;
    const later = eventFor(failing, 3);
    await deliverEvent(deps(), later, later.destinations[0]!, log);
    expect(outcomes).toEqual(['retry_scheduled', 'failed']);
    expect(await subscriptions.get(application, failing.id)).toMatchObject({
      enabled: false,
      disabledReason: 'endpoint_failing',
    });
    const disabled = scheduled.at(-1)!;
    expect(disabled.body).toMatchObject({
      event: 'endpoint.disabled',
      jobId: null,
      subscription: { id: failing.id, name: 'failing', reason: 'endpoint_failing' },
    });
    expect(disabled.destinations.map((d) => d.id)).toEqual([watcher.id]);
  });
});
