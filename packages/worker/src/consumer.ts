import type { ConfirmChannel, ConsumeMessage } from 'amqplib';
import { decodeMessage, type Logger, type QueueNames, type WorkMessage } from '@relay/common';

/**
 * The only module that consumes from RabbitMQ. Manual acks, `prefetch`
 * messages in flight. A message is acked only after its handler resolved,
 * i.e. after everything it started is recorded in Redis or published
 * (confirmed) on the broker; if the process dies first, the broker redelivers.
 */
export interface ConsumerOptions {
  queues: QueueNames;
  prefetch: number;
  log: Logger;
  handle: (message: WorkMessage) => Promise<void>;
  /** Called when `handle` threw: put the message back for later (resolves when safely done). */
  defer: (message: WorkMessage, err: unknown) => Promise<void>;
  /**
   * Declares the topology again on `channel`: called when the broker cancels
   * the consumer (the work queue was deleted), before consuming again.
   */
  redeclare: (channel: ConfirmChannel) => Promise<void>;
}

/**
 * How long a message that could not be deferred waits before it goes back to
 * the broker, which would hand it straight out again.
 */
const REQUEUE_PAUSE_MS = 1000;

export class Consumer {
  private readonly inFlight = new Set<Promise<void>>();
  private channel: ConfirmChannel | null = null;
  private consumerTag: string | null = null;
  private stopping = false;

  constructor(private readonly options: ConsumerOptions) {}

  /** Starts consuming on a (new) channel; called again after every reconnect. */
  async attach(channel: ConfirmChannel): Promise<void> {
    if (this.stopping) return;
    this.channel = channel;
    this.consumerTag = null;
    channel.on('close', () => {
      if (this.channel === channel) this.consumerTag = null;
    });
    await channel.prefetch(this.options.prefetch);
    await this.subscribe(channel);
  }

  /** True while a consumer is registered on an open channel: what /health reports. */
  consuming(): boolean {
    return this.consumerTag !== null && !this.stopping;
  }

  private async subscribe(channel: ConfirmChannel): Promise<void> {
    const { consumerTag } = await channel.consume(this.options.queues.work, (msg) => {
      if (msg) this.track(channel, msg);
      else void this.resubscribe(channel);
    });
    if (this.channel === channel) this.consumerTag = consumerTag;
  }

  /**
   * The broker cancelled the consumer (msg === null): the work queue was
   * deleted or is no longer on this node. The channel is still open, so
   * nothing else would consume again. Declare the topology again (an empty
   * work queue is better than none: the backend's publishes route again) and
   * consume. If that fails, the channel is closed so that the connection
   * reopens it with backoff and attaches again.
   */
  private async resubscribe(channel: ConfirmChannel): Promise<void> {
    if (this.channel !== channel) return;
    this.consumerTag = null;
    if (this.stopping) return;
    const startedAt = Date.now();
    this.options.log.warn({ queue: this.options.queues.work }, 'consumer cancelled by the broker; consuming again');
    try {
      await this.options.redeclare(channel);
      await this.subscribe(channel);
      this.options.log.warn({ ms: Date.now() - startedAt }, 'consuming again after a consumer cancel');
    } catch (err) {
      this.options.log.warn({ err }, 'could not consume again; reopening the channel');
      await channel.close().catch(() => undefined);
    }
  }

  get inFlightCount(): number {
    return this.inFlight.size;
  }

  private track(channel: ConfirmChannel, msg: ConsumeMessage): void {
    const p = this.onMessage(channel, msg).finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
  }

  private async onMessage(channel: ConfirmChannel, msg: ConsumeMessage): Promise<void> {
    const message = decodeMessage(msg.content);
    if (!message) {
      // Not ours (or corrupt): redelivering it would fail the same way. A
      // reject without requeue sends it to the dead-letter archive.
      this.options.log.error({ bytes: msg.content.length }, 'undecodable message dead-lettered');
      try {
        channel.nack(msg, false, false);
      } catch {
        // Channel closed: it comes back and is rejected on redelivery.
      }
      return;
    }
    try {
      await this.options.handle(message);
    } catch (err) {
      try {
        await this.options.defer(message, err);
      } catch (deferErr) {
        // Neither the store nor the broker took it: give it back to the
        // broker after a pause so a dead dependency does not become a hot loop.
        this.options.log.error({ err: deferErr, jobId: message.jobId }, 'could not defer message; requeueing');
        await new Promise((r) => setTimeout(r, REQUEUE_PAUSE_MS));
        try {
          channel.nack(msg, false, true);
        } catch {
          // Channel already closed: the broker requeues it by itself.
        }
        return;
      }
    }
    ack(channel, msg);
  }

  /**
   * Stops taking new messages and waits up to `graceMs` for those in flight.
   * Returns how many were still running (their messages will be redelivered).
   */
  async stop(graceMs: number): Promise<number> {
    this.stopping = true;
    if (this.channel && this.consumerTag) {
      await this.channel.cancel(this.consumerTag).catch(() => undefined);
    }
    this.consumerTag = null;
    if (this.inFlight.size === 0) return 0;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.inFlight]),
      new Promise((r) => {
        timer = setTimeout(r, graceMs);
      }),
    ]);
    clearTimeout(timer);
    return this.inFlight.size;
  }
}

function ack(channel: ConfirmChannel, msg: ConsumeMessage): void {
  try {
    channel.ack(msg);
  } catch {
    // The channel closed under us (broker restart): the message is redelivered.
  }
}
