import { randomBytes } from 'node:crypto';
import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QueueDepthReader } from '../../src/amqp/queue-depth.js';

/** Queue depths against the real RabbitMQ, on queues of a random name. */
const url = process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const name = `t-depth-${randomBytes(4).toString('hex')}`;
let connection: amqp.ChannelModel;

beforeAll(async () => {
  connection = await amqp.connect(url);
  const ch = await connection.createChannel();
  await ch.assertQueue(name, { durable: false, autoDelete: false });
  for (let i = 0; i < 3; i++) ch.sendToQueue(name, Buffer.from('x'));
  await ch.close();
});

afterAll(async () => {
  const ch = await connection.createChannel();
  await ch.deleteQueue(name);
  await connection.close();
});

describe('QueueDepthReader', () => {
  it('reads ready counts, a missing queue as 0, and goes on after the 404 on a new channel', async () => {
    const reader = new QueueDepthReader(() => connection);
    await expect
      .poll(() => reader.read([name, `${name}-missing`, name]), { timeout: 5000 })
      .toEqual({ [name]: 3, [`${name}-missing`]: 0 });
    expect(await reader.read([name])).toEqual({ [name]: 3 });
    await reader.close();
  });

  it('rejects while disconnected', async () => {
    await expect(new QueueDepthReader(() => null).read([name])).rejects.toThrow(/not connected/);
  });
});
