import { randomBytes } from 'node:crypto';
import amqp from 'amqplib';
import { afterAll, describe, expect, it } from 'vitest';
import { declareTopology } from '../../src/amqp/declare-topology.js';
import { EVENTS_LEVEL, LEVEL_HEADER, PRIORITY_ORDER, queueNames, type QueueType } from '../../src/keys/queues.js';

/**
 * The topology of each queue type against the real RabbitMQ: the broker takes
 * the arguments (quorum queues accept fewer than classic ones), and a message
 * that leaves a delay tier lands on the work queue of its own level only.
 */
const url = process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const prefixes: { prefix: string; type: QueueType }[] = [];

afterAll(async () => {
  const conn = await amqp.connect(url);
  try {
    const ch = await conn.createChannel();
    for (const { prefix, type } of prefixes) {
      const q = queueNames(prefix, type);
      for (const name of q.allQueues()) await ch.deleteQueue(name);
      await ch.deleteExchange(q.deadLetterExchange);
      if (q.dueExchange) await ch.deleteExchange(q.dueExchange);
    }
  } finally {
    await conn.close();
  }
});

async function depths(ch: amqp.Channel, queues: readonly string[]): Promise<number[]> {
  return Promise.all(queues.map(async (q) => (await ch.checkQueue(q)).messageCount));
}

async function until(check: () => Promise<boolean>, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe.each(['quorum', 'classic'] as const)('%s topology', (type) => {
  it('is accepted, is idempotent, and routes a message out of a delay tier to its level only', async () => {
    const prefix = `t-topology-${randomBytes(4).toString('hex')}`;
    prefixes.push({ prefix, type });
    const q = queueNames(prefix, type);
    const conn = await amqp.connect(url);
    try {
      const ch = await conn.createConfirmChannel();
      await declareTopology(ch, prefix, { queueType: type, deadLetterMaxBytes: 1 << 20 });
      // Declared again with the same arguments: no PRECONDITION_FAILED.
      await declareTopology(ch, prefix, { queueType: type, deadLetterMaxBytes: 1 << 20 });
      const work = q.workQueues.map((w) => w.queue);
      for (const level of PRIORITY_ORDER) {
        ch.sendToQueue(q.delay(10), Buffer.from(level), { persistent: true, headers: { [LEVEL_HEADER]: level } });
      }
      // On quorum an event comes back to the events queue; on classic every tier returns to `work`.
      if (type === 'quorum') {
        ch.sendToQueue(q.delay(10), Buffer.from('event'), {
          persistent: true,
          headers: { [LEVEL_HEADER]: EVENTS_LEVEL },
        });
      }
      await ch.waitForConfirms();
      await until(async () => (await depths(ch, work)).reduce((a, b) => a + b, 0) >= 3, 'the delay tier to expire');
      if (type === 'quorum') await until(async () => (await depths(ch, [q.events]))[0] === 1, 'the event to expire');
      // Settle: a message routed twice would show up here.
      await new Promise((r) => setTimeout(r, 200));
      expect(await depths(ch, work)).toEqual(type === 'quorum' ? [1, 1, 1] : [3]);
      expect(await depths(ch, [q.events])).toEqual(type === 'quorum' ? [1] : [0]);
      for (const { queue, level } of q.workQueues) {
        const got = await ch.get(queue, { noAck: true });
        if (level) expect(got && got.content.toString()).toBe(level);
      }
    } finally {
      await conn.close();
    }
  });
});
