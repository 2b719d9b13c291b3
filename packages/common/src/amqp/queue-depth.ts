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

/**
 * Messages ready in each queue, a queue that does not exist counting 0 (the
 * delay tiers exist only once a worker has declared them). A missing queue
 * closes the channel that asked, so the next queue is asked on a new one.
 * Rejects when disconnected.
 */
export async function readyCounts(
  connection: ChannelModel | null,
  queues: readonly string[],
): Promise<Record<string, number>> {
  if (!connection) throw new Error('RabbitMQ is not connected');
  const out: Record<string, number> = {};
  let channel: Awaited<ReturnType<ChannelModel['createChannel']>> | null = null;
  try {
    for (const queue of queues) {
      if (!channel) {
        channel = await connection.createChannel();
        channel.on('error', () => undefined);
      }
      try {
        out[queue] = (await channel.checkQueue(queue)).messageCount;
      } catch (err) {
        // 404 NOT_FOUND: the broker closed this channel; anything else is a real failure.
        if ((err as { code?: number }).code !== 404) throw err;
        out[queue] = 0;
        channel = null;
      }
    }
    return out;
  } finally {
    await channel?.close().catch(() => undefined);
  }
}
