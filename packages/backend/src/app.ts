import Fastify, { LogController, type FastifyBaseLogger } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { networkAllowlist, RelayError, type Logger } from '@relay/common';
import type { BackendConfig } from './config.js';
import { installLoopbackHostGuard } from './edge/host-guard.js';
import { edgeServerOptions } from './edge/server-options.js';
import { installErrorHandling } from './error-handler.js';
import { installJsonDepthLimit } from './json-depth-limit.js';
import authPlugin from './plugins/auth.js';
import jobQueuePlugin from './plugins/job-queue.js';
import rateLimitPlugin from './plugins/rate-limit.js';
import metricsPlugin from './plugins/metrics.js';
import openapiPlugin from './plugins/openapi.js';
import redisPlugin from './plugins/redis.js';
import consolePollerPlugin from './plugins/console-poller.js';
import applicationRoutes from './routes/applications.js';
import consoleStreamRoutes from './routes/console/stream.js';
import consoleStaticRoutes from './routes/console/static.js';
import { consoleDistDir } from './console/dist-dir.js';
import healthRoutes from './routes/health.js';
import counterRoutes from './routes/counters.js';
import deadLetterRoutes from './routes/dead-letters.js';
import jobActionRoutes from './routes/jobs/actions.js';
import jobReadRoutes from './routes/jobs/read.js';
import jobSubmitRoutes from './routes/jobs/submit.js';
import jobWebhookRoutes from './routes/jobs/webhooks.js';
import subscriptionsPlugin from './plugins/subscriptions.js';
import jobEventsPlugin from './plugins/job-events.js';
import subscriptionRoutes from './routes/subscriptions/crud.js';
import deliveryRoutes from './routes/subscriptions/deliveries.js';
import { fingerprintKey } from './services/fingerprint-key.js';
import { requestIdOf } from './services/tracing.js';
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
    // Requests that arrive while closing are refused below, in relay's error shape.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    // x-request-id: the caller's when sane, else a new UUID; echoed on every answer.
    requestIdHeader: false,
    genReqId: requestIdOf,
    // Fastify logs two lines per request; relay logs one (below).
    logController: new LogController({ disableRequestLogging: true }),
    ...edgeServerOptions(config),
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.setValidatorCompiler(validatorCompiler);
  // Only JSON bodies are accepted: anything else is a 415, not a string that
  // fails validation further down.
  app.removeContentTypeParser('text/plain');
  installErrorHandling(app);
  installJsonDepthLimit(app, config.jsonMaxDepth);
  // Without keys, answer only requests addressed to a loopback name (DNS rebinding).
  if (config.auth === 'off') installLoopbackHostGuard(app);
  // One access line per request (the request id is in the logger's bindings).
  app.addHook('onResponse', async (request, reply) => {
    request.log.info(
      {
        method: request.method,
        url: request.url,
        statusCode: reply.statusCode,
        ms: Math.round(reply.elapsedTime * 10) / 10,
        ...(request.acceptedJobId ? { jobId: request.acceptedJobId } : {}),
      },
      'request done',
    );
  });
  // fastify.close() finishes in-flight requests; new ones get a 503 to retry
  // elsewhere (a load balancer moves on to another backend).
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
    // While closing, every answer ends its connection: a keep-alive connection
    // that was busy when close() began would otherwise stay open, and keep
    // the process alive, until its keep-alive timeout.
    if (closing) reply.header('connection', 'close');
  });
  app.addHook('onRequest', async () => {
    if (closing)
      throw new RelayError('UNAVAILABLE', {
        message: 'The server is shutting down; retry',
        headers: { connection: 'close', 'retry-after': '1' },
      });
  });

  await app.register(redisPlugin, { config });
  await app.register(jobQueuePlugin, { config });
  await app.register(subscriptionsPlugin, { config });
  await app.register(jobEventsPlugin);
  // Authentication, then rate limits (counted per application), before any route.
  await app.register(authPlugin, { config });
  await app.register(rateLimitPlugin, { config });
  await app.register(openapiPlugin);
  // After openapi, so that GET /metrics is in the document.
  await app.register(metricsPlugin, {
    ...(config.metricsToken ? { token: config.metricsToken } : {}),
    tenantLabels: config.metricsTenantLabels === 'on',
  });
  await app.register(healthRoutes);
  const allowlist = networkAllowlist(config.allowPrivateNetworks);
  await app.register(jobSubmitRoutes, { networkAllowlist: allowlist, fingerprintKey: fingerprintKey(config) });
  await app.register(jobReadRoutes);
  await app.register(jobActionRoutes);
  await app.register(jobWebhookRoutes, { networkAllowlist: allowlist });
  await app.register(subscriptionRoutes, { networkAllowlist: allowlist });
  await app.register(deliveryRoutes);
  await app.register(deadLetterRoutes);
  await app.register(counterRoutes);
  await app.register(applicationRoutes);
  await app.register(consolePollerPlugin, { config });
  await app.register(consoleStreamRoutes, { authOff: config.auth === 'off' });
  await app.register(consoleStaticRoutes, { prefix: '/console', distDir: consoleDistDir(config.consoleDistDir) });
  await app.ready();
  return app;
}
