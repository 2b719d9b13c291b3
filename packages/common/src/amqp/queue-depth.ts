import type { Channel, ChannelModel } from 'amqplib';

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
 * Reads how many messages are ready in queues, a queue that does not exist
 * counting 0 (the delay tiers exist only once a worker has declared them),
 * for a caller that asks every second (the console's poller). One channel is
 * kept open between reads rather than opened each time: opening and closing
 * a channel costs more round trips than the checks themselves. A missing
 * queue makes the broker close the channel that asked (404), and a lost
 * connection closes it too: the next check opens a new one.
 */
export class QueueDepthReader {
  private channel: Channel | null = null;
  private channelOf: ChannelModel | null = null;

  constructor(private readonly connection: () => ChannelModel | null) {}

  /** Ready messages by queue name; rejects while disconnected. */
  async read(queues: readonly string[]): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const queue of queues) {
      const channel = await this.open();
      try {
        out[queue] = (await channel.checkQueue(queue)).messageCount;
      } catch (err) {
        this.drop(channel);
        // 404 NOT_FOUND: the queue is not there (yet); anything else is a real failure.
        if ((err as { code?: number }).code !== 404) throw err;
        out[queue] = 0;
      }
    }
    return out;
  }

  async close(): Promise<void> {
    const channel = this.channel;
    this.channel = null;
    await channel?.close().catch(() => undefined);
  }

  private async open(): Promise<Channel> {
    const connection = this.connection();
    if (!connection) throw new Error('RabbitMQ is not connected');
    if (this.channel && this.channelOf === connection) return this.channel;
    const channel = await connection.createChannel();
    // Errors also reject the check that caused them: handled there.
    channel.on('error', () => undefined);
    channel.on('close', () => this.drop(channel));
    this.channel = channel;
    this.channelOf = connection;
    return channel;
  }

  private drop(channel: Channel): void {
    if (this.channel === channel) this.channel = null;
  }
}
