import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import { decodeEventMessage, type EventMessage, type Logger } from '@relay/common';

/**
 * Consumes the events queue on a channel of its own, with its own prefetch
 * (EVENT_CONCURRENCY): event deliveries never take one of the work
 * consumer's slots, so a slow webhook receiver cannot hold up target
 * attempts. Manual acks, after the handler resolved (every delivery
 * recorded, every retry on the broker), as for work.
 */
export interface EventConsumerOptions {
  queue: string;
  prefetch: number;
  log: Logger;
  /** Handles one message; a throw requeues it after a pause. */
  handle: (message: EventMessage) => Promise<void>;
  /**
   * Declares the topology on `channel`: run before consuming again after the
   * broker cancelled this consumer (the events queue was deleted).
   */
  redeclare?: (channel: Channel) => Promise<void>;
}

/** Pause before a message whose handling threw goes back to the broker, or a lost channel is reopened. */
const PAUSE_MS = 1000;

export class EventConsumer {
  private readonly inFlight = new Set<Promise<void>>();
  private model: ChannelModel | null = null;
  private channel: Channel | null = null;
  private consumerTag: string | null = null;
  private stopping = false;
  /** Set when the broker cancelled the consumer: the next attach declares the topology first. */
  private cancelled = false;

  constructor(private readonly options: EventConsumerOptions) {}

  /**
   * Opens this consumer's channel on `model` (the consume connection) and
   * consumes; called at start and after every reconnect. A channel the
   * broker closes while the connection stays up is reopened from here.
   */
  async attach(model: ChannelModel): Promise<void> {
    if (this.stopping || (this.model === model && this.channel)) return;
    this.model = model;
    const channel = await model.createChannel();
    this.channel = channel;
    channel.on('error', (err: Error) => this.options.log.warn({ err }, 'events channel error'));
    channel.on('close', () => {
      if (this.channel !== channel) return;
      this.channel = null;
      this.consumerTag = null;
      if (this.stopping || this.model !== model) return;
      setTimeout(() => {
        if (this.stopping || this.model !== model || this.channel) return;
        this.attach(model).catch((err: unknown) => {
          // The connection is going too: its reconnect attaches again.
          this.options.log.warn({ err }, 'could not reopen the events channel');
        });
      }, PAUSE_MS).unref();
    });
    if (this.cancelled && this.options.redeclare) {
      await this.options.redeclare(channel);
      this.cancelled = false;
    }
    // Per consumer (quorum queues ignore a channel-wide prefetch).
    await channel.prefetch(this.options.prefetch);
    const { consumerTag } = await channel.consume(this.options.queue, (msg) => {
      if (msg) return this.track(channel, msg);
      // Cancelled by the broker (the queue was deleted): this channel would
      // stay open without a consumer. Closing it reattaches, declaring first.
      this.options.log.warn({ queue: this.options.queue }, 'events consumer cancelled by the broker; consuming again');
      this.cancelled = true;
      channel.close().catch(() => undefined);
    });
    if (this.channel === channel) this.consumerTag = consumerTag;
  }

  consuming(): boolean {
    return !this.stopping && this.consumerTag !== null;
  }

  get inFlightCount(): number {
    return this.inFlight.size;
  }

  private track(channel: Channel, msg: ConsumeMessage): void {
    const p = this.onMessage(channel, msg).finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
  }

  private async onMessage(channel: Channel, msg: ConsumeMessage): Promise<void> {
    const message = decodeEventMessage(msg.content);
    if (!message) {
      // Not an event message (or corrupt): redelivering it would fail the same way.
      this.options.log.error({ bytes: msg.content.length }, 'undecodable event message dead-lettered');
      settle(() => channel.nack(msg, false, false));
      return;
    }
    try {
      await this.options.handle(message);
    } catch (err) {
      this.options.log.error({ err, jobId: message.body.jobId }, 'event message could not be handled; requeueing');
      await new Promise((r) => setTimeout(r, PAUSE_MS));
      settle(() => channel.nack(msg, false, true));
      return;
    }
    settle(() => channel.ack(msg));
  }

  /** Stops consuming and waits up to `graceMs` for deliveries in flight; returns how many were left. */
  async stop(graceMs: number): Promise<number> {
    this.stopping = true;
    const channel = this.channel;
    if (channel && this.consumerTag) await channel.cancel(this.consumerTag).catch(() => undefined);
    this.consumerTag = null;
    if (this.inFlight.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([...this.inFlight]),
        new Promise((r) => {
          timer = setTimeout(r, graceMs);
        }),
      ]);
      clearTimeout(timer);
    }
    const left = this.inFlight.size;
    this.channel = null;
    // Unacked messages go back to the broker with the channel.
    await channel?.close().catch(() => undefined);
    return left;
  }
}

/** Acks and nacks on a channel that closed under us do nothing: the broker redelivers. */
function settle(action: () => void): void {
  try {
    action();
  } catch {
    // Channel closed: the message is redelivered.
  }
}
