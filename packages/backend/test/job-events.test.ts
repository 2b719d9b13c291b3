import { randomBytes } from 'node:crypto';
import amqp from 'amqplib';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createLogger,
  decodeEventMessage,
  DEFAULT_APPLICATION,
  eventWebhookId,
  queueNames,
  SubscriptionStore,
  type EventMessage,
} from '@relay/common';
import { buildApp } from '../src/app.js';
import { loadBackendConfig } from '../src/config.js';

/**
 * The backend's lifecycle events (created, cancelled, replayed) through
 * app.inject on the real app (real Redis and RabbitMQ under a random prefix,
 * no worker): what lands on the events queue, and that a job nobody listens
 * to puts nothing there.
 */

const prefix = `t-jobevents-${randomBytes(4).toString('hex')}`;
const config = loadBackendConfig({
  RELAY_PREFIX: prefix,
  LOG_LEVEL: 'silent',
  RELAY_AUTH: 'off',
  RELAY_ALLOW_PRIVATE_NETWORKS: '127.0.0.1/32',
});
const names = queueNames(prefix);
let app: Awaited<ReturnType<typeof buildApp>>;
let conn: amqp.ChannelModel;
let ch: amqp.Channel;
let redis: Redis;
let subscriptionId: string;

beforeAll(async () => {
  redis = new Redis(config.redisUrl);
  const subscription = await new SubscriptionStore(redis, { prefix }).create(DEFAULT_APPLICATION, {
    name: 'billing',
    url: 'http://127.0.0.1:9/sub',
    events: ['*'],
    filters: { metadata: { team: 'billing' } },
  });
  subscriptionId = subscription.id;
  app = await buildApp({ config, log: createLogger({ name: 'job-events-test', level: 'silent' }) });
  conn = await amqp.connect(config.rabbitmqUrl);
  ch = await conn.createChannel();
});

afterAll(async () => {
  await app?.close();
  for (const name of names.allQueues()) await ch.deleteQueue(name).catch(() => undefined);
  await ch.deleteExchange(names.deadLetterExchange).catch(() => undefined);
  if (names.dueExchange) await ch.deleteExchange(names.dueExchange).catch(() => undefined);
  await conn.close();
  const found = await redis.keys(`${prefix}:*`);
  if (found.length) await redis.del(...found);
  redis.disconnect();
});

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

async function submit(spec: Record<string, unknown>): Promise<string> {
  const res = await app.inject({
    method: 'POST',
    url: '/api/jobs',
    payload: { targetUrl: 'http://127.0.0.1:9/target', ...spec },
  });
  expect(res.statusCode).toBe(202);
  return res.json<{ jobId: string }>().jobId;
}

describe("the backend's job events", () => {
  it('publishes nothing for a job with no webhooks and no matching subscription', async () => {
    await submit({ metadata: { team: 'other' } });
    expect(await takeEvents()).toEqual([]);
  });

  it('publishes created to the webhooks and the matching subscriptions before answering 202', async () => {
    const jobId = await submit({
      metadata: { team: 'billing' },
      webhooks: { created: 'http://127.0.0.1:9/created', '*': 'http://127.0.0.1:9/all' },
    });
    const [created, ...rest] = await takeEvents();
    expect(rest).toEqual([]);
    expect(created!.body).toMatchObject({
      jobId,
      event: 'created',
      status: 'queued',
      sequence: 1,
      metadata: { team: 'billing' },
    });
    expect(created!.destinations.map((d) => [d.kind, d.id, d.webhookId])).toEqual([
      ['webhook', 'http://127.0.0.1:9/created', eventWebhookId(jobId, 1, 'job:http://127.0.0.1:9/created')],
      ['webhook', 'http://127.0.0.1:9/all', eventWebhookId(jobId, 1, 'job:http://127.0.0.1:9/all')],
      ['subscription', subscriptionId, eventWebhookId(jobId, 1, `sub:${subscriptionId}`)],
    ]);
  });

  it('publishes cancelled after a cancel, and replayed after a replay, with sequences after created', async () => {
    const jobId = await submit({ webhooks: { cancelled: 'http://127.0.0.1:9/c', replayed: 'http://127.0.0.1:9/r' } });
    expect(await takeEvents()).toEqual([]);
    const cancel = await app.inject({ method: 'POST', url: `/api/job/${jobId}/cancel` });
    expect(cancel.statusCode).toBe(200);
    const [cancelled] = await takeEvents();
    expect(cancelled!.body).toMatchObject({ jobId, event: 'cancelled', status: 'cancelled', sequence: 2 });
    expect(cancelled!.destinations.map((d) => d.url)).toEqual(['http://127.0.0.1:9/c']);

    const replay = await app.inject({ method: 'POST', url: `/api/job/${jobId}/replay` });
    expect(replay.statusCode).toBe(202);
    const [replayed] = await takeEvents();
    expect(replayed!.body).toMatchObject({ jobId, event: 'replayed', status: 'queued', sequence: 3 });
    expect(replayed!.destinations.map((d) => d.url)).toEqual(['http://127.0.0.1:9/r']);
  });
});
