import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { afterAll, expect, it } from 'vitest';
import type { AmqpHandle } from '../../src/amqp/amqp-handle.js';
import { connectAmqp } from '../../src/amqp/connection.js';
import { publishConfirmed } from '../../src/amqp/publish.js';
import type { LogSink } from '../../src/logger.js';
import { redactUrl } from '../../src/config-fields.js';

/**
 * connectAmqp with several URLs (RABBITMQ_URLS) against the real RabbitMQ:
 * the "nodes" are the one broker reached directly and through a TCP proxy
 * the test can cut, so a lost node is a proxy that drops its connections and
 * stops listening.
 */
const url = new URL(process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672');
const queue = `t-failover-${randomBytes(4).toString('hex')}`;
const lines: { msg: string; obj: Record<string, unknown> }[] = [];
const record = (obj: unknown, msg?: string) => void lines.push({ msg: msg ?? '', obj: obj as Record<string, unknown> });
const log = { info: record, warn: record, error: record } as LogSink;
const handles: AmqpHandle[] = [];
const servers: net.Server[] = [];

afterAll(async () => {
  const h = handles.find((x) => x.channel());
  await h
    ?.channel()
    ?.deleteQueue(queue)
    .catch(() => undefined);
  for (const x of handles) await x.close();
  for (const s of servers) s.close();
});

/** A TCP proxy to the broker on a port of its own; `cut()` drops its connections and stops listening. */
async function proxy(): Promise<{ url: string; cut: () => void }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(url.port || 5672), url.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => sockets.delete(s));
    }
    client.pipe(upstream).pipe(client);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const via = new URL(url);
  via.port = String((server.address() as net.AddressInfo).port);
  return {
    url: via.toString(),
    cut: () => {
      server.close();
      for (const s of sockets) s.destroy();
    },
  };
}

/** A port nothing listens on: a node that is down. */
async function deadUrl(): Promise<string> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((r) => server.close(() => r()));
  const dead = new URL(url);
  dead.port = String(port);
  return dead.toString();
}

async function until(check: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

it('starts on the first node that answers, and goes on to the next node when its node is lost', async () => {
  const first = await proxy();
  let setups = 0;
  const handle = await connectAmqp({
    urls: [await deadUrl(), first.url, url.toString()],
    log,
    startupTimeoutMs: 10_000,
    setup: async (ch) => {
      setups++;
      await ch.assertQueue(queue, { durable: false, autoDelete: false });
    },
  });
  handles.push(handle);
  expect(setups).toBe(1);
  expect(lines.some((l) => l.msg.startsWith('cannot reach RabbitMQ'))).toBe(true);

  // Publishes awaiting their confirm when the node goes fail, never succeed.
  const channel = handle.channel()!;
  const inFlight = Array.from({ length: 50 }, () =>
    publishConfirmed(channel, { queue }, Buffer.from('x'), 10_000).then(
      () => 'confirmed',
      () => 'failed',
    ),
  );
  first.cut();
  const cutAt = Date.now();
  await Promise.all(inFlight);
  // Those confirmed before the cut are fine; the rest failed at once, not at the 10 s confirm timeout.
  expect(Date.now() - cutAt).toBeLessThan(2000);

  const lostAt = Date.now();
  await until(() => handle.channel() !== null && handle.channel() !== channel, 'a channel on the next node');
  expect(Date.now() - lostAt).toBeLessThan(2000);
  expect(setups).toBe(2);
  const reconnected = lines.find((l) => l.msg === 'rabbitmq reconnected');
  // The node after the lost one, named without its password.
  expect(reconnected?.obj.rabbitmq).toBe(redactUrl(url.toString()));
  await publishConfirmed(handle.channel(), { queue }, Buffer.from('after'), 5000);
});

it('fails the publishes in flight when the connection is lost, at once', async () => {
  const only = await proxy();
  const handle = await connectAmqp({
    urls: [only.url, url.toString()],
    log,
    startupTimeoutMs: 5000,
    setup: async (ch) => void (await ch.assertQueue(queue, { durable: false, autoDelete: false })),
  });
  handles.push(handle);
  const channel = handle.channel()!;
  // Written to the socket, but the proxy is cut before any confirm can come back.
  only.cut();
  const started = Date.now();
  await expect(publishConfirmed(channel, { queue }, Buffer.from('x'), 10_000)).rejects.toThrow();
  expect(Date.now() - started).toBeLessThan(2000);
});
