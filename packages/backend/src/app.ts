import Fastify, { type FastifyBaseLogger } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Logger } from '@relay/common';
import type { BackendConfig } from './config.js';
import { installErrorHandling } from './error-handler.js';
import jobQueuePlugin from './plugins/job-queue.js';
import redisPlugin from './plugins/redis.js';
import healthRoutes from './routes/health.js';
import jobsRoutes from './routes/jobs/index.js';
import { validatorCompiler } from './validation.js';

export interface BuildAppOptions {
  config: BackendConfig;
  log: Logger;
}

/**
 * The API as a ready Fastify instance (connections open, routes registered),
 * not listening: `server.ts` listens, tests use `app.inject()`.
 */
export async function buildApp({ config, log }: BuildAppOptions) {
  const app = Fastify({
    loggerInstance: log as FastifyBaseLogger,
    bodyLimit: config.bodyLimitBytes,
    // Lets fastify.close() finish in-flight requests while refusing new ones.
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.setValidatorCompiler(validatorCompiler);
  // Only JSON bodies are accepted: anything else is a 415, not a string that
  // fails validation further down.
  app.removeContentTypeParser('text/plain');
  installErrorHandling(app);

  await app.register(redisPlugin, { config });
  await app.register(jobQueuePlugin, { config });
  await app.register(healthRoutes);
  await app.register(jobsRoutes);
  await app.ready();
  return app;
}
