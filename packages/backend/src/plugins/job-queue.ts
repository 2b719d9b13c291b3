import fp from 'fastify-plugin';
import {
  connectAmqp,
  declareWorkQueue,
  encodeMessage,
  messageProperties,
  publishConfirmed,
  queueNames,
  ServiceUnavailableError,
  type AmqpHandle,
  type WorkMessage,
} from '@relay/common';
import type { BackendConfig } from '../config.js';

export interface JobQueue {
  /**
   * Resolves once the broker has confirmed the message (persistent, durable
   * queue); rejects with a ServiceUnavailableError when there is no connection,
   * the broker refuses it or no confirm arrives within PUBLISH_TIMEOUT_MS.
   */
  publish(message: WorkMessage): Promise<void>;
  connected(): boolean;
}

declare module 'fastify' {
  interface FastifyInstance {
    jobQueue: JobQueue;
  }
}

/** Owns the RabbitMQ connection the backend publishes new jobs on. */
export default fp<{ config: BackendConfig }>(
  async (app, { config }) => {
    const queues = queueNames(config.prefix);
    const amqp: AmqpHandle = await connectAmqp({
      url: config.rabbitmqUrl,
      log: app.log,
      startupTimeoutMs: config.startupTimeoutMs,
      setup: async (channel) => {
        await declareWorkQueue(channel, config.prefix);
      },
    });
    app.decorate('jobQueue', {
      publish: (message) =>
        publishConfirmed(
          amqp.channel(),
          { queue: queues.work },
          encodeMessage(message),
          config.publishTimeoutMs,
          messageProperties(message),
        ).catch((err: unknown) => {
          throw new ServiceUnavailableError('RabbitMQ', err);
        }),
      connected: () => amqp.channel() !== null,
    } satisfies JobQueue);
    app.addHook('onClose', async () => {
      await amqp.close();
    });
  },
  { name: 'relay-job-queue' },
);
