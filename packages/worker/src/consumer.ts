import type { ConfirmChannel, ConsumeMessage } from 'amqplib';
import {
  decodeEventMessage,
  decodeMessage,
  type EventMessage,
  type Logger,
  type PriorityLevel,
  type QueueNames,
  type WorkMessage,
  type WorkQueue,
} from '@relay/common';
import { initialStrideState, pickLevel, type StrideState } from './priority/stride-picker.js';

/**
 * The only module that consumes from RabbitMQ. Manual acks. A message is
 * acked only after its handler resolved, i.e. after everything it started is
 * recorded in Redis or published (confirmed) on the broker; if the process
 * dies first, the broker redelivers.
 *
 * It consumes every work queue of the topology: one on classic (the broker
 * orders by x-max-priority), one per priority level on quorum. At most
 * `prefetch` messages run at once; each queue's consumer may hold `prefetch`
 * unacked so that one level alone can fill every slot. Deliveries wait in
 * memory (unacked) for a slot, and a free slot goes to the level that
 * priority/stride-picker.ts chooses. On classic nothing ever waits: one
 * consumer's prefetch equals the slots.
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
  /**
   * Sends an event message found on a work queue on to the events queue
   * (or its next delay tier). On a classic topology the delay tiers return
   * every message to the work queue, retries of event deliveries included:
   * this is their quick hop to the events consumer.
   */
  forwardEvent?: (message: EventMessage) => Promise<void>;
}

/**
 * How long a message that could not be deferred waits before it goes back to
 * the broker, which would hand it straight out again.
 */
const REQUEUE_PAUSE_MS = 1000;

interface Waiting {
  channel: ConfirmChannel;
  msg: ConsumeMessage;
}

/** The stride-picker's bucket of a queue: a classic work queue holds every level, weighed as one. */
function bucketOf(queue: WorkQueue): PriorityLevel {
  return queue.level ?? 'normal';
}

export class Consumer {
  private readonly inFlight = new Set<Promise<void>>();
  private readonly waiting: Record<PriorityLevel, Waiting[]> = { high: [], normal: [], low: [] };
  private stride: StrideState = initialStrideState();
  private channel: ConfirmChannel | null = null;
  /** Consumer tag per queue name, on the current channel. */
  private readonly consumerTags = new Map<string, string>();
  private stopping = false;

  constructor(private readonly options: ConsumerOptions) {}

  /** Starts consuming on a (new) channel; called again after every reconnect. */
  async attach(channel: ConfirmChannel): Promise<void> {
    if (this.stopping) return;
    this.channel = channel;
    this.consumerTags.clear();
    channel.on('close', () => {
      if (this.channel === channel) this.consumerTags.clear();
      // The broker requeues what this channel held: never start it from here.
      this.dropWaiting(channel);
    });
    // Per consumer (quorum queues ignore a channel-wide prefetch).
    await channel.prefetch(this.options.prefetch);
    for (const queue of this.options.queues.workQueues) await this.subscribe(channel, queue);
  }

  /** True while a consumer is registered on every work queue on an open channel: what /health reports. */
  consuming(): boolean {
    return !this.stopping && this.consumerTags.size === this.options.queues.workQueues.length;
  }

  private async subscribe(channel: ConfirmChannel, queue: WorkQueue): Promise<void> {
    const bucket = bucketOf(queue);
    const { consumerTag } = await channel.consume(queue.queue, (msg) => {
      if (msg) this.enqueue(bucket, { channel, msg });
      else void this.resubscribe(channel, queue);
    });
    if (this.channel === channel) this.consumerTags.set(queue.queue, consumerTag);
  }

  /**
   * The broker cancelled a consumer (msg === null): its work queue was
   * deleted or is no longer on this node. The channel is still open, so
   * nothing else would consume again. Declare the topology again (an empty
   * work queue is better than none: the backend's publishes route again) and
   * consume. If that fails, the channel is closed so that the connection
   * reopens it with backoff and attaches again.
   */
  private async resubscribe(channel: ConfirmChannel, queue: WorkQueue): Promise<void> {
    if (this.channel !== channel) return;
    this.consumerTags.delete(queue.queue);
    if (this.stopping) return;
    const startedAt = Date.now();
    this.options.log.warn({ queue: queue.queue }, 'consumer cancelled by the broker; consuming again');
    try {
      await this.options.redeclare(channel);
      await this.subscribe(channel, queue);
      this.options.log.warn({ ms: Date.now() - startedAt }, 'consuming again after a consumer cancel');
    } catch (err) {
      this.options.log.warn({ err }, 'could not consume again; reopening the channel');
      await channel.close().catch(() => undefined);
    }
  }

  private enqueue(bucket: PriorityLevel, entry: Waiting): void {
    this.waiting[bucket].push(entry);
    this.pump();
  }

  /** Starts waiting messages while there are free slots, the level of each chosen by the stride picker. */
  private pump(): void {
    while (!this.stopping && this.inFlight.size < this.options.prefetch) {
      const picked = pickLevel(
        { high: this.waiting.high.length, normal: this.waiting.normal.length, low: this.waiting.low.length },
        this.stride,
      );
      if (!picked) return;
      this.stride = picked.state;
      const entry = this.waiting[picked.level].shift()!;
      this.track(entry.channel, entry.msg);
    }
  }

  private dropWaiting(channel: ConfirmChannel): void {
    for (const level of Object.keys(this.waiting) as PriorityLevel[]) {
      this.waiting[level] = this.waiting[level].filter((w) => w.channel !== channel);
    }
  }

  /** The consumer tag on `queue`, or undefined while not consuming it (tests). */
  consumerTagOf(queue: string): string | undefined {
    return this.consumerTags.get(queue);
  }

  /** Messages delivered but waiting for a slot (tests and diagnostics). */
  get waitingCount(): number {
    return this.waiting.high.length + this.waiting.normal.length + this.waiting.low.length;
  }

  get inFlightCount(): number {
    return this.inFlight.size;
  }

  private track(channel: ConfirmChannel, msg: ConsumeMessage): void {
    const p = this.onMessage(channel, msg).finally(() => {
      this.inFlight.delete(p);
      this.pump();
    });
    this.inFlight.add(p);
  }

  private async onMessage(channel: ConfirmChannel, msg: ConsumeMessage): Promise<void> {
    const message = decodeMessage(msg.content);
    if (!message && this.options.forwardEvent) {
      const event = decodeEventMessage(msg.content);
      if (event) return this.forward(channel, msg, event, this.options.forwardEvent);
    }
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

  private async forward(
    channel: ConfirmChannel,
    msg: ConsumeMessage,
    event: EventMessage,
    forwardEvent: (message: EventMessage) => Promise<void>,
  ): Promise<void> {
    try {
      await forwardEvent(event);
    } catch (err) {
      this.options.log.warn({ err, jobId: event.body.jobId }, 'could not forward an event message; requeueing');
      await new Promise((r) => setTimeout(r, REQUEUE_PAUSE_MS));
      try {
        channel.nack(msg, false, true);
      } catch {
        // Channel closed: the broker requeues it by itself.
      }
      return;
    }
    ack(channel, msg);
  }

  /**
   * Stops taking new messages and waits up to `graceMs` for those in flight.
   * Returns how many were still running (their messages will be redelivered).
   */
  async stop(graceMs: number): Promise<number> {
    this.stopping = true;
    const channel = this.channel;
    if (channel) {
      for (const tag of this.consumerTags.values()) await channel.cancel(tag).catch(() => undefined);
    }
    this.consumerTags.clear();
    // Not started: back to the broker now, for another worker to take.
    for (const level of Object.keys(this.waiting) as PriorityLevel[]) {
      for (const { channel: held, msg } of this.waiting[level].splice(0)) {
        try {
          held.nack(msg, false, true);
        } catch {
          // Channel closed: the broker has requeued it already.
        }
      }
    }
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
