import {
  encodeEventMessage,
  encodeMessage,
  eventMessageProperties,
  messageLevel,
  messageProperties,
  planDelayHop,
  type AmqpHandle,
  type EventMessage,
  type QueueNames,
  type WorkMessage,
} from '@relay/common';

/**
 * Publishes work to run at `message.dueAt`: straight onto the work queue when
 * due, else into the largest delay tier that fits. When the tier's TTL
 * expires the broker dead-letters the message back onto the work queue, where
 * the worker either runs it or sends it on another, shorter hop. Nothing
 * waits in process memory, so a worker crash loses no scheduled retry.
 */
export class Scheduler {
  constructor(
    private readonly amqp: AmqpHandle,
    private readonly queues: QueueNames,
    private readonly publishTimeoutMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Work goes to its level's work queue when due; an event message to the
   * events queue. Both wait in the same delay tiers: an event's properties
   * (LEVEL_HEADER = EVENTS_LEVEL) bring it back to the events queue on a
   * quorum topology, and the work consumer forwards it there on classic.
   */
  async schedule(message: WorkMessage | EventMessage): Promise<void> {
    const hop = planDelayHop(message.dueAt - this.now());
    if (message.kind === 'event') {
      const queue = hop === null ? this.queues.events : this.queues.delay(hop);
      await this.amqp.publish(
        { queue },
        encodeEventMessage(message),
        this.publishTimeoutMs,
        eventMessageProperties(message),
      );
      return;
    }
    const queue = hop === null ? this.queues.workFor(messageLevel(message)) : this.queues.delay(hop);
    await this.amqp.publish({ queue }, encodeMessage(message), this.publishTimeoutMs, messageProperties(message));
  }

  /**
   * Publishes a finished job's message (or a poison callback message) to the
   * dead-letter exchange (the durable archive of failed jobs), with why it
   * failed in the headers.
   */
  async deadLetter(message: WorkMessage, reason: string): Promise<void> {
    const properties = messageProperties(message);
    await this.amqp.publish(
      { exchange: this.queues.deadLetterExchange, queue: '' },
      encodeMessage(message),
      this.publishTimeoutMs,
      { ...properties, headers: { ...properties.headers, 'x-relay-reason': reason } },
    );
  }

  /** True when the message should take another hop before it is processed. */
  notYetDue(message: { dueAt: number }): boolean {
    return planDelayHop(message.dueAt - this.now()) !== null;
  }

  /**
   * Waits out the last few ms (at most DELAY_TOLERANCE_MS) in process, so a
   * message never runs before its due time: a Retry-After is a lower bound.
   */
  async waitUntilDue(message: { dueAt: number }): Promise<void> {
    const remaining = message.dueAt - this.now();
    if (remaining > 0) await new Promise((r) => setTimeout(r, remaining));
  }
}
