import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import metricsPlugin, { rejectionReason } from '../src/plugins/metrics.js';

/**
 * The metrics plugin on a bare Fastify app (no Redis, no RabbitMQ) with the
 * real prom-client: requests are counted by route pattern, and GET /metrics
 * serves the text exposition.
 */

const apps: FastifyInstance[] = [];

afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
});

async function build(): Promise<FastifyInstance> {
  const app = Fastify();
  apps.push(app);
  await app.register(metricsPlugin);
  app.get('/dummy', async () => ({ ok: true }));
  app.get('/things/:id', async (request, reply) => reply.code(404).send({ id: (request.params as { id: string }).id }));
  await app.ready();
  return app;
}

async function scrape(app: FastifyInstance): Promise<string[]> {
  const res = await app.inject({ method: 'GET', url: '/metrics' });
  expect(res.statusCode).toBe(200);
  expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
  return res.body.split('\n');
}

describe('metrics plugin', () => {
  it('counts and times requests by method, route pattern and status code', async () => {
    const app = await build();
    expect((await app.inject({ method: 'GET', url: '/dummy' })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/dummy?x=1' })).statusCode).toBe(200);
    await app.inject({ method: 'GET', url: '/things/1' });
    await app.inject({ method: 'GET', url: '/things/2' });
    await app.inject({ method: 'GET', url: '/things/3' });
    await app.inject({ method: 'DELETE', url: '/no/such/route/1' });
    await app.inject({ method: 'DELETE', url: '/no/such/route/2' });

    const lines = await scrape(app);
    for (const line of [
      'relay_http_requests_total{method="GET",route="/dummy",status_code="200"} 2',
      'relay_http_requests_total{method="GET",route="/things/:id",status_code="404"} 3',
      'relay_http_requests_total{method="DELETE",route="unmatched",status_code="404"} 2',
      'relay_http_request_duration_seconds_count{method="GET",route="/dummy"} 2',
      'relay_http_request_duration_seconds_bucket{le="+Inf",method="GET",route="/things/:id"} 3',
    ]) {
      expect(lines).toContain(line);
    }
    // Raw URLs never become label values.
    expect(lines.some((l) => l.includes('/things/1') || l.includes('/no/such'))).toBe(false);

    // The scrape itself is counted once it has been answered.
    expect(await scrape(app)).toContain('relay_http_requests_total{method="GET",route="/metrics",status_code="200"} 1');
  });

  it('exposes the job counters for the routes to increment, and Node process metrics', async () => {
    const app = await build();
    app.metrics.jobsAccepted.inc();
    app.metrics.jobsAccepted.inc();
    app.metrics.jobsRejected.inc({ reason: rejectionReason(413) });

    const lines = await scrape(app);
    expect(lines).toContain('relay_jobs_accepted_total 2');
    expect(lines).toContain('relay_jobs_rejected_total{reason="too_large"} 1');
    expect(lines).toContain('relay_jobs_rejected_total{reason="validation"} 0');
    expect(lines.some((l) => l.startsWith('process_cpu_user_seconds_total '))).toBe(true);
  });

  it('keeps the metrics of two apps apart', async () => {
    const a = await build();
    const b = await build();
    await a.inject({ method: 'GET', url: '/dummy' });
    expect(await scrape(a)).toContain('relay_http_requests_total{method="GET",route="/dummy",status_code="200"} 1');
    expect((await scrape(b)).some((l) => l.includes('route="/dummy"'))).toBe(false);
  });
});

describe('rejectionReason', () => {
  it.each([
    [400, 'validation'],
    [415, 'validation'],
    [413, 'too_large'],
    [503, 'unavailable'],
    [500, 'other'],
    [429, 'rate_limited'],
    [401, 'unauthorized'],
    [422, 'idempotency'],
    [502, 'other'],
  ])('%i is %s', (status, reason) => {
    expect(rejectionReason(status)).toBe(reason);
  });
});
