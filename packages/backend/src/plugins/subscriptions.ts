import fp from 'fastify-plugin';
import { DeliveryLog, SubscriptionStore } from '@relay/common';
import type { BackendConfig } from '../config.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Every application's event subscriptions (routes pass the caller's application). */
    subscriptions: SubscriptionStore;
    /** The per-subscription delivery logs, kept as long as jobs (JOB_TTL_SECONDS). */
    deliveryLog: DeliveryLog;
  }
}

/** The stores of subscriptions and their delivery logs, on the app's Redis connection. */
export default fp<{ config: BackendConfig }>(
  async (app, { config }) => {
    const subscriptions = new SubscriptionStore(app.redis, {
      prefix: config.prefix,
      // The keys the job store seals credential headers with (relay-redis).
      secretKey: app.jobStore.secretKey,
    });
    app.decorate('subscriptions', subscriptions);
    app.decorate(
      'deliveryLog',
      new DeliveryLog(app.redis, { prefix: config.prefix, ttlSeconds: config.jobTtlSeconds, subscriptions }),
    );
  },
  { name: 'relay-subscriptions', dependencies: ['relay-redis'] },
);
