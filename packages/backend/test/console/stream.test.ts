import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, HEARTBEAT_TTL_SECONDS, queueNames, redisKeys, type Heartbeat } from '@relay/common';
import { buildApp } from '../../src/app.js';
import { loadBackendConfig } from '../../src/config.js';
import type { History, Snapshot } from '../../src/routes/console/schemas.js';
import { openSse } from '../../../../e2e/support/sse.js';

/**
 * GET /api/console/stream of the real app (real Redis and RabbitMQ, random
 * prefix), listening on a port: auth and scoping, the events, one shared
 * poller, clean-up on disconnect and on close.
 */

const prefix = `t-console-${randomBytes(4).toString('hex')}`;
const masterKey = randomBytes(32).toString('base64url');
const config = loadBackendConfig({ RELAY_PREFIX: prefix, LOG_LEVEL: 'silent', RELAY_MASTER_KEY: masterKey });
let app: Awaited<ReturnType<typeof buildApp>>;
let base: string;
let keyA: string;
let appA: string;

beforeAll(async () => {
  app = await buildApp({ config, log: createLogger({ name: 'console-test', level: 'silent' }) });
  base = await app.listen({ port: 0, host: '127.0.0.1' });
  const created = await app.inject({
    method: 'POST',
    url: '/api/applications',
    headers: { authorization: `Bearer ${masterKey}` },
    payload: { name: 'console-a' },
  });
  expect(created.statusCode).toBe(201);
  ({ apiKey: keyA, id: appA } = created.json<{ apiKey: string; id: string }>());
  // Counters as the job scripts keep them: application A and the default application.
  await app.redis.hset(redisKeys(prefix, appA).counters(), { jobs_created: 7, jobs_failed: 2 });
  await app.redis.hset(redisKeys(prefix).counters(), { jobs_created: 100, jobs_success: 90 });
  const beat: Heartbeat = {
    v: 1,
    id: 'w-test',
    host: 'h',
    pid: 1,
    at: new Date().toISOString(),
    inFlight: 2,
    state: 'consuming',
    destinations: [
      { application: appA, host: 'a.test', completed: 1, failed: 3 },
      { application: 'default', host: 'd.test', completed: 50, failed: 0 },
    ],
    latency: [],
  };
  await app.redis.set(redisKeys(prefix).workerHeartbeat('w-test'), JSON.stringify(beat), 'EX', 60);
  await app.redis.sadd(redisKeys(prefix).workers(), 'w-test', 'w-gone');
});

afterAll(async () => {
  await app?.close();
  const keys = await app.redis.keys(`${prefix}:*`).catch(() => []);
  const conn = await amqp.connect(config.rabbitmqUrl);
  try {
    const ch = await conn.createChannel();
    const { Redis } = await import('ioredis');
    const redis = new Redis(config.redisUrl);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
    // Every queue and exchange the backend declared, by the names the code builds.
    const names = queueNames(prefix);
    for (const name of names.allQueues()) await ch.deleteQueue(name);
    await ch.deleteExchange(names.deadLetterExchange);
    if (names.dueExchange) await ch.deleteExchange(names.dueExchange);
  } finally {
    await conn.close();
  }
});

const url = () => `${base}/api/console/stream`;

describe('GET /api/console/stream', () => {
  it('refuses a missing or wrong key with 401 JSON', async () => {
    for (const headers of [{}, { authorization: 'Bearer nope-not-a-key' }] as Record<string, string>[]) {
      const res = await fetch(url(), { headers });
      expect(res.status).toBe(401);
      expect(res.headers.get('content-type')).toMatch(/application\/json/);
      expect(((await res.json()) as { code: string }).code).toBe('RELAY_ERR_UNAUTHORIZED');
    }
  });

  it('sends history then snapshots, every application with the master key', async () => {
    const sse = await openSse(url(), { authorization: `Bearer ${masterKey}` });
    try {
      expect(sse.status).toBe(200);
      expect(sse.headers.get('content-type')).toMatch(/^text\/event-stream/);
      const history = JSON.parse((await sse.next('history')).data) as History;
      expect(Array.isArray(history.points)).toBe(true);
      const snap = JSON.parse((await sse.next('snapshot', 3000)).data) as Snapshot;
      expect(snap.totals.accepted).toBe(107);
      expect(snap.totals.completed).toBe(90);
      expect(snap.workers).toEqual([expect.objectContaining({ id: 'w-test', inFlight: 2, state: 'consuming' })]);
      expect(snap.top.destinations.map((d) => d.host).sort()).toEqual(['a.test', 'd.test']);
      // The expired worker's id is dropped from the set.
      expect(await app.redis.smembers(redisKeys(prefix).workers())).toEqual(['w-test']);

      await app.redis.hincrby(redisKeys(prefix, appA).counters(), 'jobs_created', 5);
      const later = JSON.parse((await sse.next('snapshot', 3000)).data) as Snapshot;
      expect(later.totals.accepted).toBe(112);
      expect(later.rates.accepted).toBeGreaterThan(0);
    } finally {
      sse.close();
    }
  });

  it("scopes an application key to its application's counters and top lists", async () => {
    const sse = await openSse(url(), { authorization: `Bearer ${keyA}` });
    try {
      expect(sse.status).toBe(200);
      await sse.next('history');
      const snap = JSON.parse((await sse.next('snapshot', 3000)).data) as Snapshot;
      expect(snap.totals.accepted).toBe(12);
      expect(snap.totals.completed).toBe(0);
      expect(snap.top.destinations).toEqual([{ host: 'a.test', completed: 1, failed: 3 }]);
      expect(snap.top.applications.every((r) => r.id === appA)).toBe(true);
    } finally {
      sse.close();
    }
  });

  it('runs one poller for all streams, and stops it when the last one leaves', async () => {
    const a = await openSse(url(), { authorization: `Bearer ${masterKey}` });
    const b = await openSse(url(), { authorization: `Bearer ${keyA}` });
    await a.next('snapshot', 3000);
    await b.next('snapshot', 3000);
    expect(app.consolePoller.subscriberCount).toBe(2);
    a.close();
    b.close();
    await expect.poll(() => app.consolePoller.subscriberCount, { timeout: 3000 }).toBe(0);
    expect(app.consolePoller.running).toBe(false);
    // History survives a pause: a new client sees the frames recorded so far.
    const c = await openSse(url(), { authorization: `Bearer ${masterKey}` });
    const history = JSON.parse((await c.next('history')).data) as History;
    expect(history.points.length).toBeGreaterThan(1);
    c.close();
  });

  it('closes a client that does not read instead of buffering for it', async () => {
    // A raw socket that sends the request and never reads: the kernel buffers fill, then the backlog grows.
    const port = Number(new URL(base).port);
    const socket = connect({ port, host: '127.0.0.1' });
    socket.setNoDelay(true);
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.pause();
    socket.write(`GET /api/console/stream HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer ${masterKey}\r\n\r\n`);
    await expect.poll(() => app.consolePoller.subscriberCount, { timeout: 3000 }).toBe(1);
    // Make each snapshot large (megabytes), so that the kernel's socket buffers fill and the backlog passes the cap within seconds.
    const beat = JSON.parse((await app.redis.get(redisKeys(prefix).workerHeartbeat('w-test')))!) as Heartbeat;
    const many = Array.from({ length: 3000 }, (_, i) => ({
      ...beat,
      id: `w-${i}`,
      host: 'h'.repeat(1000),
      destinations: [],
      latency: [],
    }));
    await Promise.all(
      many.map((b) =>
        app.redis.set(redisKeys(prefix).workerHeartbeat(b.id), JSON.stringify(b), 'EX', HEARTBEAT_TTL_SECONDS * 4),
      ),
    );
    await app.redis.sadd(redisKeys(prefix).workers(), ...many.map((b) => b.id));
    await expect.poll(() => app.consolePoller.subscriberCount, { timeout: 20_000, interval: 250 }).toBe(0);
    socket.destroy();
    await app.redis.del(...many.map((b) => redisKeys(prefix).workerHeartbeat(b.id)));
  }, 30_000);

  it('ends open streams when the app closes', async () => {
    const sse = await openSse(url(), { authorization: `Bearer ${masterKey}` });
    const history = JSON.parse((await sse.next('history')).data) as History;
    // History points carry no worker list: 15 minutes of them stay small.
    expect(history.points.every((p) => p.workers.length === 0)).toBe(true);
    await sse.next('snapshot', 3000);
    const closed = app.close();
    await expect(sse.next('never', 5000)).rejects.toThrow(/ended|terminated|abort/i);
    await closed;
  });
});
