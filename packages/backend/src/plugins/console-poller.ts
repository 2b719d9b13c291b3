import fp from 'fastify-plugin';
import { ConsolePoller } from '../console/poller.js';
import type { BackendConfig } from '../config.js';

declare module 'fastify' {
  interface FastifyInstance {
    consolePoller: ConsolePoller;
  }
}

/**
 * The process's one console poller (console/poller.ts). It polls only while a
 * stream is connected; on close the streams are ended first, since an open
 * stream is never idle and would hold fastify.close() for ever.
 */
export default fp<{ config: BackendConfig }>(
  async (app, { config }) => {
    const poller = new ConsolePoller({
      redis: app.redis,
      prefix: config.prefix,
      applications: app.applications,
      jobQueue: app.jobQueue,
      log: app.log.child({ component: 'console-poller' }),
    });
    app.decorate('consolePoller', poller);
    app.addHook('preClose', async () => poller.closeAll());
  },
  { name: 'relay-console-poller', dependencies: ['relay-redis', 'relay-job-queue', 'relay-auth'] },
);
