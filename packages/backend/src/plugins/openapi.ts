import fp from 'fastify-plugin';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import pkg from '../../package.json' with { type: 'json' };
import { addDocumentation } from './openapi-document.js';

/** One route as Fastify registered it (`:param` syntax), for checking that the document covers them all. */
export interface RegisteredRoute {
  method: string;
  url: string;
  /** The route declares `schema.hide`: left out of the document on purpose (the /docs routes). */
  hidden: boolean;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Every route registered after the openapi plugin, HEAD twins included, in registration order. */
    registeredRoutes: readonly RegisteredRoute[];
  }
}

/** Where Swagger UI is served; the document is at `${DOCS_PREFIX}/json` (and `/yaml`). */
export const DOCS_PREFIX = '/docs';

/**
 * The OpenAPI document of the API, generated from the routes' TypeBox schemas,
 * at `/docs/json` (and `/docs/yaml`), and Swagger UI at `/docs`. Register it
 * before the routes: @fastify/swagger only sees the routes added after it.
 * OpenAPI 3.1 rather than 3.0 because the schemas use JSON Schema keywords
 * that 3.0 lacks (`type: 'null'`, `patternProperties`, `propertyNames`).
 */
export default fp(
  async (app) => {
    const routes: RegisteredRoute[] = [];
    app.decorate('registeredRoutes', routes);
    app.addHook('onRoute', (route) => {
      for (const method of [route.method].flat()) {
        routes.push({ method, url: route.url, hidden: Boolean(route.schema?.hide) });
      }
    });

    await app.register(swagger, {
      openapi: {
        openapi: '3.1.0',
        info: {
          title: 'relay',
          version: pkg.version,
          description:
            'A self-hosted HTTP-request relay with callbacks. POST a job (a URL, method, headers and JSON payload); ' +
            'relay queues it on RabbitMQ, performs the request from a worker with retries and jittered exponential ' +
            'backoff, records every attempt in Redis and POSTs the result to your callback URL. Every error answer ' +
            'is the same JSON shape, with a stable `code` to switch on.',
        },
        components: {
          securitySchemes: {
            bearerKey: {
              type: 'http',
              scheme: 'bearer',
              description: 'An application key (jobs) or RELAY_MASTER_KEY (applications)',
            },
            headerKey: { type: 'apiKey', in: 'header', name: 'x-api-key', description: 'The same key, as a header' },
          },
        },
        tags: [
          { name: 'jobs', description: 'Submit jobs, read their status and attempt log, cancel and replay them' },
          { name: 'dead letters', description: 'Jobs that failed for good' },
          {
            name: 'subscriptions',
            description:
              "Event subscriptions of the application's jobs, their delivery logs and resends (docs/events.md)",
          },
          { name: 'metrics', description: 'Cluster-wide counters' },
          {
            name: 'applications',
            description: 'Tenants and their API keys, rate limits and signing secrets (master key)',
          },
          { name: 'health', description: 'Whether Redis and RabbitMQ are reachable' },
        ],
      },
      transform: addDocumentation,
    });
    await app.register(swaggerUi, { routePrefix: DOCS_PREFIX, uiConfig: { deepLinking: true } });
  },
  { name: 'relay-openapi' },
);
