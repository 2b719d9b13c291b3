import type { ChannelModel } from 'amqplib';

/**
 * Messages ready in each queue, read on a channel of its own: a missing queue
 * makes the broker close the channel that asked (404), and that must not be
 * a channel that publishes or consumes. Rejects when disconnected or when a
 * queue is missing.
 */
export async function queueDepths(connection: ChannelModel | null, queues: string[]): Promise<Record<string, number>> {
  if (!connection) throw new Error('RabbitMQ is not connected');
  const channel = await connection.createChannel();
  // The 404 of a missing queue arrives as a channel error too: checkQueue's rejection reports it.
  channel.on('error', () => undefined);
  try {
    const out: Record<string, number> = {};
    for (const queue of queues) out[queue] = (await channel.checkQueue(queue)).messageCount;
    return out;
  } finally {
    await channel.close().catch(() => undefined);
  }
}
