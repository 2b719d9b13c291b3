import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes, randomUUID } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ApplicationStore,
  attemptMessage,
  connectAmqp,
  createLogger,
  DeliveryLog,
  encodeMessage,
  HeaderRedactor,
  JobStore,
  messageProperties,
  publishConfirmed,
  queueNames,
  secretKeys,
  SubscriptionStore,
  type AmqpHandle,
  type EventBody,
  type EventDelivery,
  type JobSpec,
  type QueueNames,
  type QueueType,
} from '@relay/common';
import { Redis } from 'ioredis';
import { loadWorkerConfig } from '../../src/config.js';
import { startWorker, type RelayWorker } from '../../src/worker.js';

/**
 * Lifecycle events through a real worker (in process), Redis and RabbitMQ,
 * isolated by a random prefix, to a local receiver on port 0: the job's own
 * webhooks and a subscription filtered on two metadata keys get the events
 * they asked for, signed, in sequence order; a failing delivery is retried
 * through the delay tiers under the same webhook-id and logged.
 */

const RABBITMQ_URL = process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
let prefix: string;
let queues: QueueNames;
const log = createLogger({ name: 'event-flow-test', level: 'silent' });

interface Received {
  path: string;
  headers: Record<string, string>;
  raw: string;
  body: EventBody;
}

let server: http.Server;
let base: string;
const received: Received[] = [];
/** Status per path, consumed in order; 200 once a list is empty. */
const answers = new Map<string, number[]>();

let redis: Redis;
let amqp: AmqpHandle;
let worker: RelayWorker;
let jobs: JobStore;
let subscriptions: SubscriptionStore;
let deliveryLog: DeliveryLog;
let application: string;
let signingSecret: string;
let subscriptionId: string;

async function until(check: () => boolean | Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const at = (path: string, jobId: string) => received.filter((r) => r.path === path && r.body.jobId === jobId);

/** The attempt messages published, by job: a test publishes one again to act out a redelivery. */
const published = new Map<string, ReturnType<typeof attemptMessage>>();

async function publish(message: ReturnType<typeof attemptMessage>): Promise<void> {
  await publishConfirmed(
    amqp.publishChannel(),
    { queue: queues.workFor('normal') },
    encodeMessage(message),
    5000,
    messageProperties(message),
  );
}

async function submit(spec: Partial<JobSpec>): Promise<string> {
  const jobId = randomUUID();
  const full: JobSpec = {
    targetUrl: `${base}/target`,
    method: 'POST',
    headers: {},
    maxRetries: 0,
    retryDelay: 100,
    timeout: 5000,
    payload: null,
    priority: 'normal',
    ...spec,
  };
  const createdAt = new Date();
  const traceId = randomBytes(16).toString('hex');
  await jobs.create({ jobId, spec: full, createdAt, requestId: null, traceId });
  const message = attemptMessage({
    jobId,
    spec: full,
    createdAt: createdAt.toISOString(),
    requestId: null,
    traceId,
    application,
  });
  published.set(jobId, message);
  await publish(message);
  return jobId;
}

// Both topologies: on classic the delay tiers return a retried event to the
// work queue, and the work consumer forwards it to the events queue.
const QUEUE_TYPES: QueueType[] = ['quorum', 'classic'];

describe.each(QUEUE_TYPES)('event delivery through the worker (%s queues)', (queueType) => {
  beforeAll(async () => {
    prefix = `t-events-${randomBytes(4).toString('hex')}`;
    queues = queueNames(prefix, queueType);
    server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const path = req.url ?? '/';
        const raw = Buffer.concat(chunks).toString('utf8');
        if (!path.startsWith('/target')) {
          received.push({
            path,
            headers: req.headers as Record<string, string>,
            raw,
            body: JSON.parse(raw) as EventBody,
          });
        }
        res.writeHead(answers.get(path)?.shift() ?? 200, { 'content-type': 'application/json' });
        res.end('{"ok":true}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    const env = {
      RELAY_PREFIX: prefix,
      RELAY_QUEUE_TYPE: queueType,
      RABBITMQ_URL,
      REDIS_URL,
      RELAY_ALLOW_PRIVATE_NETWORKS: '127.0.0.1/32',
      WORKER_METRICS_PORT: '0',
      EVENT_RETRY_DELAY_MS: '50',
      OUTBOUND_KEEP_ALIVE_MS: '100',
      LOG_LEVEL: 'silent',
    };
    const config = loadWorkerConfig(env);
    redis = new Redis(REDIS_URL);
    const keys = secretKeys(config.secretKey, config.secretKeysPrevious);
    const applications = new ApplicationStore(redis, { prefix, secretKey: keys });
    const created = await applications.create({ name: 'events-test' });
    application = created.application.id;
    signingSecret = created.signingSecret;
    jobs = new JobStore(redis, {
      prefix,
      ttlSeconds: 600,
      secretKey: keys,
      redactor: new HeaderRedactor([]),
      attemptLogMax: 100,
    }).forApplication(application);
    subscriptions = new SubscriptionStore(redis, { prefix });
    deliveryLog = new DeliveryLog(redis, { prefix, ttlSeconds: 600, subscriptions });
    const subscription = await subscriptions.create(application, {
      name: 'billing in prod',
      url: `${base}/sub`,
      events: ['started', 'completed'],
      filters: { metadata: { team: 'billing', env: 'prod' } },
      headers: { 'X-Team': 'billing' },
    });
    subscriptionId = subscription.id;
    amqp = await connectAmqp({ url: RABBITMQ_URL, log, startupTimeoutMs: 5000, setup: async () => undefined });
    worker = await startWorker({ config, log });
  });

  afterAll(async () => {
    await worker?.stop();
    const ch = amqp?.channel();
    if (ch) {
      for (const q of queues.allQueues()) await ch.deleteQueue(q).catch(() => undefined);
      await ch.deleteExchange(queues.deadLetterExchange).catch(() => undefined);
      if (queues.dueExchange) await ch.deleteExchange(queues.dueExchange).catch(() => undefined);
    }
    await amqp?.close();
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }, 30_000);

  it("delivers a job's events to its webhooks and to a matching subscription, signed, in sequence order", async () => {
    const jobId = await submit({
      metadata: { team: 'billing', env: 'prod' },
      webhooks: { started: `${base}/hooks`, completed: `${base}/hooks`, '*': `${base}/all` },
    });
    await until(
      () => at('/hooks', jobId).length === 2 && at('/sub', jobId).length === 2 && at('/all', jobId).length === 2,
      'events',
    );

    for (const path of ['/hooks', '/all', '/sub']) {
      const got = at(path, jobId);
      expect(got.map((r) => r.body.event)).toEqual(['started', 'completed']);
      expect(got[0]!.body.sequence).toBeLessThan(got[1]!.body.sequence);
      for (const r of got) {
        expect(r.headers['x-job-id']).toBe(jobId);
        expect(r.headers['x-job-status']).toBe(r.body.status);
        expect(r.headers['content-type']).toBe('application/json');
        // Verified with the independent package, over the bytes received.
        expect(new Webhook(signingSecret).verify(r.raw, r.headers)).toEqual(r.body);
      }
    }
    const [, completed] = at('/sub', jobId);
    expect(completed!.headers['x-team']).toBe('billing');
    expect(completed!.body).toMatchObject({
      jobId,
      event: 'completed',
      status: 'completed',
      application,
      metadata: { team: 'billing', env: 'prod' },
      result: { statusCode: 200 },
    });
    // One webhook-id per event and destination.
    const ids = ['/hooks', '/all', '/sub'].flatMap((p) => at(p, jobId).map((r) => r.headers['webhook-id']));
    expect(new Set(ids).size).toBe(6);

    // The outcome is recorded once the receiver has answered: a moment after it got the request.
    let logged: EventDelivery[] = [];
    await until(async () => {
      const page = await deliveryLog.page(application, subscriptionId, { limit: 10, cursor: null });
      logged = page.deliveries.filter((d) => d.jobId === jobId && d.status === 'delivered');
      return logged.length === 2;
    }, 'delivery log');
    expect(logged.map((d) => [d.event, d.status, d.attempts]).sort()).toEqual([
      ['completed', 'delivered', 1],
      ['started', 'delivered', 1],
    ]);
  });

  it('sends a subscription only the events of jobs whose metadata match both keys', async () => {
    const other = await submit({ metadata: { team: 'billing', env: 'dev' }, webhooks: { '*': `${base}/all` } });
    await until(
      () => at('/all', other).some((r) => r.body.event === 'completed'),
      'the completed event of the other job',
    );
    expect(at('/sub', other)).toEqual([]);
  });

  it('retries a failing webhook delivery through the delay tiers under the same webhook-id', async () => {
    answers.set('/flaky', [500, 503]);
    const jobId = await submit({ webhooks: { completed: `${base}/flaky` } });
    await until(() => at('/flaky', jobId).length === 3, 'three deliveries');
    const ids = at('/flaky', jobId).map((r) => r.headers['webhook-id']);
    expect(new Set(ids).size).toBe(1);
    expect(at('/flaky', jobId).map((r) => r.body.sequence)).toEqual([5, 5, 5]);
  });

  it('stops at a 410 from a subscription endpoint and logs the delivery failed', async () => {
    answers.set('/sub', [410]);
    const jobId = await submit({ metadata: { team: 'billing', env: 'prod' } });
    await until(() => at('/sub', jobId).length === 2, 'both events at the subscription');
    // Give a (wrong) retry the time to arrive: the backoff is 50 ms.
    await new Promise((r) => setTimeout(r, 500));
    expect(at('/sub', jobId)).toHaveLength(2);
    const page = await deliveryLog.page(application, subscriptionId, { limit: 20, cursor: null });
    const statuses = page.deliveries
      .filter((d) => d.jobId === jobId)
      .map((d) => d.status)
      .sort();
    expect(statuses).toEqual(['delivered', 'failed']);
  });

  it('emits the events of a finished step again when its message comes back, under the same webhook-ids', async () => {
    const jobId = await submit({ webhooks: { '*': `${base}/redelivered` } });
    await until(() => at('/redelivered', jobId).length === 2, 'started and completed');
    // As if the worker had died after recording the end, before the ack.
    await publish(published.get(jobId)!);
    await until(() => at('/redelivered', jobId).length === 3, 'the completed event again');
    const [started, completed, again] = at('/redelivered', jobId);
    expect(started!.body.event).toBe('started');
    expect(again!.body).toMatchObject({
      event: 'completed',
      sequence: completed!.body.sequence,
      result: { statusCode: 200 },
    });
    expect(again!.headers['webhook-id']).toBe(completed!.headers['webhook-id']);
  });

  it('emits retrying again when a copy of the attempt that set it comes back, under the same webhook-id', async () => {
    answers.set('/target-stale', [503]);
    const jobId = await submit({
      targetUrl: `${base}/target-stale`,
      maxRetries: 1,
      retryDelay: 1500,
      webhooks: { retrying: `${base}/stale` },
    });
    await until(() => at('/stale', jobId).length === 1, 'retrying');
    // As if the worker had died after recording the retry, before the ack.
    await publish(published.get(jobId)!);
    await until(() => at('/stale', jobId).length === 2, 'retrying again');
    const [first, again] = at('/stale', jobId);
    expect(again!.body).toMatchObject({
      event: 'retrying',
      sequence: first!.body.sequence,
      attempt: { number: 1, statusCode: 503 },
    });
    expect(again!.headers['webhook-id']).toBe(first!.headers['webhook-id']);
  });

  it('emits retrying with the next attempt time, then failed and dead_lettered, in sequence order', async () => {
    // The first attempt is retried; the second fails for good (422 is not retried).
    answers.set('/target-failing', [503, 422]);
    const jobId = await submit({
      targetUrl: `${base}/target-failing`,
      maxRetries: 1,
      retryDelay: 100,
      webhooks: { '*': `${base}/failing` },
    });
    await until(() => at('/failing', jobId).length === 5, 'five events');
    const got = at('/failing', jobId);
    expect(got.map((r) => r.body.event)).toEqual(['started', 'retrying', 'started', 'failed', 'dead_lettered']);
    const sequences = got.map((r) => r.body.sequence);
    expect([...sequences].sort((a, b) => a - b)).toEqual(sequences);
    expect(got[1]!.body.attempt).toMatchObject({ number: 1, statusCode: 503 });
    expect(Date.parse(got[1]!.body.attempt!.nextAttemptAt!)).toBeGreaterThan(0);
    expect(got[3]!.body.error).toMatchObject({ code: 'RELAY_ERR_HTTP_STATUS' });
    expect(got[4]!.body.status).toBe('failed');
  });
});
