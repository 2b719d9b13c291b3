import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { installErrorHandling } from '../src/error-handler.js';
import metricsPlugin, { type MetricsPluginOptions } from '../src/plugins/metrics.js';

/** METRICS_TOKEN and METRICS_TENANT_LABELS on the metrics plugin, on a bare Fastify (no brokers). */
const TOKEN = 'metrics-token-0123456789abcdef';
const apps: FastifyInstance[] = [];

afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
});

async function build(options: MetricsPluginOptions): Promise<FastifyInstance> {
  const app = Fastify();
  apps.push(app);
  installErrorHandling(app);
  await app.register(metricsPlugin, options);
  await app.ready();
  return app;
}

describe('GET /metrics with METRICS_TOKEN', () => {
  it('refuses a scrape without the token, or with a wrong one, with 401 and a stable code', async () => {
    const app = await build({ token: TOKEN });
    for (const headers of [{}, { authorization: 'Bearer wrong-token' }, { authorization: TOKEN }]) {
      const res = await app.inject({ method: 'GET', url: '/metrics', headers });
      expect(res.statusCode).toBe(401);
      expect(res.json()).toMatchObject({ code: 'RELAY_ERR_UNAUTHORIZED' });
      expect(res.headers['www-authenticate']).toContain('Bearer');
      expect(res.body).not.toContain('relay_http_requests_total');
    }
  });

  it('serves the metrics with the token', async () => {
    const app = await build({ token: TOKEN });
    const res = await app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('relay_http_requests_total');
  });

  it('stays public when no token is configured', async () => {
    const app = await build({});
    expect((await app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(200);
  });
});

describe('tenant labels', () => {
  it('label job counts by application by default', async () => {
    const app = await build({});
    app.metrics.jobsAccepted.inc({ application: app.metrics.applicationLabel('app_tenant_one') });
    const body = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(body).toContain('relay_jobs_accepted_total{application="app_tenant_one"} 1');
  });

  it('count every application as _all when configured off', async () => {
    const app = await build({ tenantLabels: false });
    app.metrics.jobsAccepted.inc({ application: app.metrics.applicationLabel('app_tenant_one') });
    app.metrics.jobsAccepted.inc({ application: app.metrics.applicationLabel('app_tenant_two') });
    const body = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(body).toContain('relay_jobs_accepted_total{application="_all"} 2');
    expect(body).not.toContain('app_tenant_');
  });
});
