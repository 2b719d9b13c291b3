import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import amqp, { type ChannelModel } from 'amqplib';
import { afterAll, describe, expect, it } from 'vitest';
import { coalesceFrameWrites } from '../../src/amqp/coalesce-writes.js';

/**
 * Against the real RabbitMQ: the frames a channel queues in one turn of the
 * event loop reach the socket as one write when coalesced, one write each
 * when not. Also the guard on amqplib's private multiplexer: if an upgrade
 * changes it, the first test fails here rather than the benefit vanishing.
 */
const url = process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const queue = `t-coalesce-${randomBytes(4).toString('hex')}`;
const models: ChannelModel[] = [];

afterAll(async () => {
  const ch = await models[0]?.createChannel();
  await ch?.deleteQueue(queue);
  for (const m of models) await m.close().catch(() => undefined);
});

/** Publishes `n` messages in one tick on a confirm channel; returns how many socket writes carried them. */
async function writesFor(n: number, coalesce: boolean): Promise<number> {
  const model = await amqp.connect(url, { noDelay: true });
  models.push(model);
  if (coalesce) expect(coalesceFrameWrites(model)).toBe(true);
  const channel = await model.createConfirmChannel();
  await channel.assertQueue(queue, { durable: false, autoDelete: false });
  const socket = (model as unknown as { connection: { stream: Socket } }).connection.stream;
  let writes = 0;
  // Each call of _write or _writev is one write to the socket's handle.
  const write = socket._write.bind(socket);
  const writev = socket._writev!.bind(socket);
  socket._write = (...args: Parameters<Socket['_write']>) => (writes++, write(...args));
  socket._writev = (...args: Parameters<NonNullable<Socket['_writev']>>) => (writes++, writev(...args));
  for (let i = 0; i < n; i++) channel.sendToQueue(queue, Buffer.from(`m${i}`));
  await channel.waitForConfirms();
  return writes;
}

describe('coalesceFrameWrites', () => {
  it('sends the publishes of one turn in one socket write', async () => {
    expect(await writesFor(50, true)).toBe(1);
  });

  it('without it, amqplib writes each publish on its own', async () => {
    expect(await writesFor(50, false)).toBeGreaterThanOrEqual(50);
  });

  it('leaves anything that is not an amqplib connection alone', () => {
    expect(coalesceFrameWrites({})).toBe(false);
    expect(coalesceFrameWrites(null)).toBe(false);
    expect(coalesceFrameWrites({ connection: { muxer: { _readIncoming: () => undefined, out: {} } } })).toBe(false);
  });
});
