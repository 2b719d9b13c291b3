import fp from 'fastify-plugin';
import { EventEmitter, SubscriptionCache } from '@relay/common';

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * Emits the lifecycle events the backend changes a job with (created,
     * cancelled, replayed): matched against the application's subscriptions
     * through a per-process index, published to the events queue only when
     * a webhook or a subscription wants them.
     */
    jobEvents: EventEmitter;
  }
}

export default fp(
  async (app) => {
    const matcher = new SubscriptionCache(app.subscriptions);
    app.decorate('jobEvents', new EventEmitter({ matcher, publish: (message) => app.jobQueue.publishEvent(message) }));
  },
  { name: 'relay-job-events', dependencies: ['relay-subscriptions', 'relay-job-queue'] },
);
