import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, expect, it } from 'vitest';
import {
  callbackBody,
  callbackMessage,
  connectAmqp,
  JobStatus,
  createLogger,
  declareTopology,
  encodeMessage,
  publishConfirmed,
  queueNames,
  type AmqpHandle,
  type WorkMessage,
} from '@relay/common';
import { Consumer } from '../src/consumer.js';

/**
 * The consumer against the real RabbitMQ: when the broker cancels it (its
 * work queue was deleted) or closes its channel, it consumes again by itself.
 */
const url = process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const prefix = `t-consumer-${randomBytes(4).toString('hex')}`;
const queues = queueNames(prefix);
const log = createLogger({ name: 'consumer-test', level: 'silent' });
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

/** A valid callback message (the codec refuses anything less), never delivered: the handler only records it. */
function message(): WorkMessage {
  const jobId = randomUUID();
  const body = callbackBody({
    jobId,
    status: JobStatus.completed,
    attempts: 1,
    statusCode: 200,
    response: null,
    error: null,
    completedAt: new Date().toISOString(),
    targetUrl: 'http://127.0.0.1:1/',
    method: 'POST',
  });
  return callbackMessage(jobId, 'http://127.0.0.1:1/', body, 1, 'default');
}

it('consumes again after the work queue is deleted (consumer cancel) and after its channel is closed', async () => {
  const handled: string[] = [];
  let consumer: Consumer | null = null;
  const declare = (ch: Parameters<typeof declareTopology>[0]) => declareTopology(ch, prefix);
  const publisher = await connectAmqp({ url, log, startupTimeoutMs: 5000, setup: declare });
  handles.push(publisher);
  const consuming = await connectAmqp({
    url,
    log,
    startupTimeoutMs: 5000,
    setup: async (ch) => {
      await declare(ch);
      await consumer?.attach(ch);
    },
  });
  handles.push(consuming);
  consumer = new Consumer({
    queues,
    prefetch: 4,
    log,
    handle: async (m) => void handled.push(m.jobId),
    defer: async () => undefined,
    redeclare: declare,
  });
  await consumer.attach(consuming.channel()!);
  expect(consumer.consuming()).toBe(true);
  const tagBefore = consumer.consumerTagOf(queues.work);

  const send = async () => {
    const m = message();
    await publishConfirmed(publisher.channel(), { queue: queues.work }, encodeMessage(m), 5000);
    return m.jobId;
  };
  const first = await send();
  await until(() => handled.includes(first), 'the first message');

  // Deleted behind the consumer's back: the broker cancels the consumer.
  await publisher.channel()!.deleteQueue(queues.work);
  await until(() => consumer.consuming() && consumer.consumerTagOf(queues.work) !== tagBefore, 'consuming again after the cancel');
  const second = await send();
  await until(() => handled.includes(second), 'a message after the cancel');

  // A channel error on the consumer's channel: the connection reopens it and the consumer attaches again.
  const before = consuming.channel()!;
  await before.checkQueue(`${prefix}.missing`).catch(() => undefined);
  await until(
    () => consuming.channel() !== null && consuming.channel() !== before && consumer.consuming(),
    'a new channel',
  );
  const third = await send();
  await until(() => handled.includes(third), 'a message after the channel error');
  await consumer.stop(1000);
  expect(consumer.consuming()).toBe(false);
});
