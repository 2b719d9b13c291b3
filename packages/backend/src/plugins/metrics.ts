import fp from 'fastify-plugin';
import { Counter, Histogram, type Registry } from 'prom-client';
import { metricsRegistry } from '@relay/common';
import { ALL_APPLICATIONS_LABEL, metricsTokenCheck } from '../edge/metrics-access.js';

/** `reason` of a refused job submission. */
const REJECT_REASONS = [
  'validation',
  'unavailable',
  'too_large',
  'unauthorized',
  'rate_limited',
  'idempotency',
  'other',
] as const;
export type JobRejectReason = (typeof REJECT_REASONS)[number];

/** Answer times of the API: from a 404 answered without storage to a submit waiting on a slow broker confirm. */
const HTTP_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** The `route` label of requests that matched no route: one value, whatever the URL, so the label stays bounded. */
export const UNMATCHED_ROUTE = 'unmatched';

export interface BackendMetrics {
  registry: Registry;
  /** `application`: the owning application's id (`default` with RELAY_AUTH=off). */
  jobsAccepted: Counter<'application'>;
  jobsRejected: Counter<'reason'>;
  httpRequests: Counter<'method' | 'route' | 'status_code'>;
  httpDuration: Histogram<'method' | 'route'>;
  /** The `application` label value for an application id (`_all` when tenant labels are off). */
  applicationLabel: (applicationId: string) => string;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The backend's Prometheus metrics, served at GET /metrics. */
    metrics: BackendMetrics;
  }
}

export interface MetricsPluginOptions {
  /**
   * Where the metrics are registered.
   * Node's default process metrics are added only to the registry made here
   * (one passed in may have them already; registering them twice throws).
   * @defaultValue a new Registry per app, with Node's default process metrics
   */
  registry?: Registry;
  /** When set, GET /metrics needs `Authorization: Bearer <token>`. */
  token?: string;
  /**
   * Per-application label values; off, every application is counted as `_all`.
   * @defaultValue true
   */
  tenantLabels?: boolean;
}

/**
 * The `reason` label for a refused POST /api/jobs, from the status of the
 * answer: 400 and 415 are the client's request, 413 its size, 503 a backing
 * service.
 */
export function rejectionReason(statusCode: number): JobRejectReason {
  if (statusCode === 400 || statusCode === 415) return 'validation';
  if (statusCode === 413) return 'too_large';
  if (statusCode === 401 || statusCode === 403) return 'unauthorized';
  if (statusCode === 429) return 'rate_limited';
  if (statusCode === 409 || statusCode === 422) return 'idempotency';
  if (statusCode === 503) return 'unavailable';
  return 'other';
}

/**
 * Prometheus metrics of this backend process, at `GET /metrics`: every
 * request counted and timed by route pattern (from an onResponse hook), plus
 * job submission counters for the routes to increment. Each app gets its own
 * registry, so several apps in one process (tests) do not collide. Register
 * it after the openapi plugin (for /metrics to be documented) and before the
 * routes.
 */
export default fp<MetricsPluginOptions>(
  async (app, options) => {
    const registry = metricsRegistry(options.registry);
    const registers = [registry];

    const metrics: BackendMetrics = {
      registry,
      jobsAccepted: new Counter({
        name: 'relay_jobs_accepted_total',
        help: 'Jobs accepted (202) by POST /api/jobs, by application',
        labelNames: ['application'] as const,
        registers,
      }),
      jobsRejected: new Counter({
        name: 'relay_jobs_rejected_total',
        help: 'Job submissions refused, by reason',
        labelNames: ['reason'] as const,
        registers,
      }),
      httpRequests: new Counter({
        name: 'relay_http_requests_total',
        help: 'HTTP requests answered, by method, route pattern and status code',
        labelNames: ['method', 'route', 'status_code'] as const,
        registers,
      }),
      httpDuration: new Histogram({
        name: 'relay_http_request_duration_seconds',
        help: 'Time from receiving a request to the end of its answer, by method and route pattern',
        labelNames: ['method', 'route'] as const,
        buckets: HTTP_BUCKETS,
        registers,
      }),
      applicationLabel: options.tenantLabels === false ? () => ALL_APPLICATIONS_LABEL : (id) => id,
    };
    // Known label sets start at 0, so that rate() sees the first increment of each.
    for (const reason of REJECT_REASONS) metrics.jobsRejected.inc({ reason }, 0);
    app.decorate('metrics', metrics);

    app.addHook('onResponse', async (request, reply) => {
      // The pattern (`/api/job/:jobId`), never the raw URL: one series per route, not per job.
      const route = request.routeOptions.url ?? UNMATCHED_ROUTE;
      const method = request.method;
      metrics.httpRequests.inc({ method, route, status_code: String(reply.statusCode) });
      metrics.httpDuration.observe({ method, route }, reply.elapsedTime / 1000);
    });

    app.get(
      '/metrics',
      {
        ...(options.token ? { onRequest: metricsTokenCheck(options.token) } : {}),
        schema: {
          tags: ['metrics'],
          summary: 'Prometheus metrics of this backend process',
          description:
            'Request counts and durations by route, jobs accepted and rejected, and Node process metrics, in the ' +
            'Prometheus text format. Per process: scrape every backend. The worker serves its own on WORKER_METRICS_PORT.',
          response: {
            200: {
              description: 'The Prometheus text exposition format (version 0.0.4)',
              content: { 'text/plain': { schema: { type: 'string' } } },
            },
          },
        },
      },
      async (_request, reply) => {
        reply.type(registry.contentType);
        return registry.metrics();
      },
    );
  },
  { name: 'relay-metrics' },
);
