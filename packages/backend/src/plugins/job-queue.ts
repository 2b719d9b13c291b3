import type { Options } from 'amqplib';
import fp from 'fastify-plugin';
import {
  connectAmqp,
  declareWorkQueue,
  encodeEventMessage,
  encodeMessage,
  eventMessageProperties,
  messageLevel,
  messageProperties,
  queueNames,
  QueueDepthReader,
  rabbitmqUrlsOf,
  ServiceUnavailableError,
  type AmqpHandle,
  type EventMessage,
  type QueueType,
  type WorkMessage,
} from '@relay/common';
import type { BackendConfig } from '../config.js';

export interface JobQueue {
  /**
   * Resolves once the broker has confirmed the message (persistent, durable
   * queue); rejects with a ServiceUnavailableError when there is no connection,
   * the broker refuses it, returns it as unroutable (the work queue is gone),
   * blocks publishing (a memory or disk alarm: refused at once, not after the
   * timeout) or no confirm arrives within PUBLISH_TIMEOUT_MS.
   */
  publish(message: WorkMessage): Promise<void>;
  /** Publishes to the events queue (a resend), with the same guarantees as publish. */
  publishEvent(message: EventMessage): Promise<void>;
  connected(): boolean;
  /** The broker's reason while an alarm blocks publishing, else null. */
  blockedReason(): string | null;
  /** Messages ready in each queue (a missing queue counts 0); rejects while disconnected. */
  depths(queues: readonly string[]): Promise<Record<string, number>>;
}

declare module 'fastify' {
  interface FastifyInstance {
    jobQueue: JobQueue;
  }
}

/** Owns the RabbitMQ connection the backend publishes new jobs on. */
export default fp<{ config: BackendConfig }>(
  async (app, { config }) => {
    const queueType = config.queueType as QueueType;
    const queues = queueNames(config.prefix, queueType);
    const topology = { deadLetterMaxBytes: config.deadLetterMaxBytes, queueType };
    const amqp: AmqpHandle = await connectAmqp({
      urls: rabbitmqUrlsOf(config),
      log: app.log,
      startupTimeoutMs: config.startupTimeoutMs,
      role: 'publish',
      setup: async (channel) => {
        await declareWorkQueue(channel, config.prefix, topology);
      },
      // A returned message means the work queue was deleted: declare it again
      // so that the next submission routes (this one has already failed).
      redeclare: (channel) => declareWorkQueue(channel, config.prefix, topology),
      failFastWhenBlocked: true,
      // Every submission waits on this connection's confirms: a node that
      // stops answering must not hold them until the heartbeat gives up.
      leaveStalledNode: true,
    });
    const send = async (queue: string, content: Buffer, properties: Options.Publish) => {
      try {
        // A node that answers nothing, or refuses every publish, is left (AmqpHandle.publish).
        await amqp.publish({ queue }, content, config.publishTimeoutMs, properties);
      } catch (err) {
        throw new ServiceUnavailableError('RabbitMQ', err);
      }
    };
    const publish = (message: WorkMessage): Promise<void> =>
      send(queues.workFor(messageLevel(message)), encodeMessage(message), messageProperties(message));
    const publishEvent = (message: EventMessage): Promise<void> =>
      send(queues.events, encodeEventMessage(message), eventMessageProperties(message));
    const depthReader = new QueueDepthReader(() => amqp.connection());
    app.decorate('jobQueue', {
      publish,
      publishEvent,
      connected: () => amqp.channel() !== null,
      blockedReason: () => amqp.blockedReason(),
      depths: (names) => depthReader.read(names),
    } satisfies JobQueue);
    app.addHook('onClose', async () => {
      await depthReader.close();
      await amqp.close();
    });
  },
  { name: 'relay-job-queue' },
);
