import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, expect, it } from 'vitest';
import {
  buildEventMessage,
  connectAmqp,
  createLogger,
  declareTopology,
  publishEventMessage,
  queueNames,
  type AmqpHandle,
  type EventMessage,
} from '@relay/common';
import { EventConsumer } from '../../src/events/event-consumer.js';

/**
 * The events consumer against the real RabbitMQ: its own channel on the
 * consume connection, and consuming again after the broker cancelled it
 * (the events queue was deleted).
 */
const url = process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const prefix = `t-evconsumer-${randomBytes(4).toString('hex')}`;
const queues = queueNames(prefix);
const log = createLogger({ name: 'event-consumer-test', level: 'silent' });
const handles: AmqpHandle[] = [];

afterAll(async () => {
  const ch = handles[0]?.channel();
  if (ch) {
    for (const q of queues.allQueues()) await ch.deleteQueue(q).catch(() => undefined);
    await ch.deleteExchange(queues.deadLetterExchange).catch(() => undefined);
    if (queues.dueExchange) await ch.deleteExchange(queues.dueExchange).catch(() => undefined);
  }
  for (const h of handles.reverse()) await h.close();
});

async function until(check: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function event(): EventMessage {
  return buildEventMessage(
    {
      application: 'default',
      jobId: randomUUID(),
      event: 'completed',
      attempt: 1,
      status: 'completed',
      timestamp: new Date().toISOString(),
      metadata: {},
      host: '127.0.0.1',
      webhooks: { completed: 'http://127.0.0.1:1/' },
    },
    [],
  )!;
}

it('consumes the events queue on its own channel, and again after the broker cancelled it (queue deleted)', async () => {
  const handled: string[] = [];
  const declare = (ch: Parameters<typeof declareTopology>[0]) => declareTopology(ch, prefix);
  const publisher = await connectAmqp({ url, log, startupTimeoutMs: 5000, setup: declare });
  handles.push(publisher);
  const consuming = await connectAmqp({ url, log, startupTimeoutMs: 5000, setup: declare });
  handles.push(consuming);
  const consumer = new EventConsumer({
    queue: queues.events,
    prefetch: 4,
    log,
    handle: async (m) => void handled.push(m.body.jobId!),
    redeclare: declare,
  });
  await consumer.attach(consuming.connection()!);
  expect(consumer.consuming()).toBe(true);

  const send = async () => {
    const m = event();
    await publishEventMessage(publisher, queues, m, 5000);
    return m.body.jobId!;
  };
  const first = await send();
  await until(() => handled.includes(first), 'the first event');
  // Not the work consumer's channel: the connection's own channel is untouched.
  expect(consuming.channel()).not.toBeNull();

  // Deleted behind the consumer's back: the broker cancels it; it declares the topology and consumes again.
  await publisher.channel()!.deleteQueue(queues.events);
  await until(() => !consumer.consuming(), 'the cancel');
  await until(() => consumer.consuming(), 'consuming again after the cancel');
  const second = await send();
  await until(() => handled.includes(second), 'an event after the cancel');

  expect(await consumer.stop(1000)).toBe(0);
  expect(consumer.consuming()).toBe(false);
});
