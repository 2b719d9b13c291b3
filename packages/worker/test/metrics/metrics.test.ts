import { afterEach, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { JobStatus, type Attempt } from '@relay/common';
import { attemptMetrics, callbackMetrics, statusClass } from '../../src/metrics/adapters.js';
import { createWorkerMetrics } from '../../src/metrics/definitions.js';
import { startMetricsServer, type MetricsServer } from '../../src/metrics/server.js';

/**
 * The worker's metrics through the real prom-client, read as Prometheus reads
 * them: from a real /metrics server on 127.0.0.1, port 0.
 */

const servers: MetricsServer[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function serve(registry: Registry): Promise<string> {
  const server = await startMetricsServer({ port: 0, host: '127.0.0.1', registry });
  servers.push(server);
  return `http://127.0.0.1:${server.port}`;
}

async function scrape(base: string): Promise<string> {
  const res = await fetch(`${base}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return res.text();
}

function attempt(overrides: Partial<Attempt>): Attempt {
  return {
    attempt: 1,
    startedAt: new Date(0).toISOString(),
    durationMs: 12,
    statusCode: 200,
    success: true,
    response: null,
    error: null,
    retryable: false,
    ...overrides,
  };
}

describe('statusClass', () => {
  it.each<[number | null, string | null, string]>([
    [200, null, '2xx'],
    [204, null, '2xx'],
    [299, null, '2xx'],
    [301, 'RELAY_ERR_HTTP_STATUS', '3xx'],
    [404, 'RELAY_ERR_HTTP_STATUS', '4xx'],
    [429, 'RELAY_ERR_HTTP_STATUS', '4xx'],
    [500, 'RELAY_ERR_HTTP_STATUS', '5xx'],
    [599, 'RELAY_ERR_HTTP_STATUS', '5xx'],
    [null, 'RELAY_ERR_TIMEOUT', 'timeout'],
    [null, 'ECONNREFUSED', 'network'],
    [null, 'RELAY_ERR_NETWORK', 'network'],
    [null, null, 'network'],
    [199, null, 'other'],
    [600, 'RELAY_ERR_HTTP_STATUS', 'other'],
  ])('(%s, %s) is %s', (status, code, expected) => {
    expect(statusClass(status, code)).toBe(expected);
  });
});

describe('createWorkerMetrics', () => {
  it('exposes counters and histograms on /metrics', async () => {
    const metrics = createWorkerMetrics();
    const base = await serve(metrics.registry);
    const now = 10_000;
    const report = attemptMetrics(metrics, () => now);

    report.attempt(attempt({ statusCode: 200, durationMs: 20 }), 'success');
    report.attempt(attempt({ statusCode: 200, durationMs: 30 }), 'success');
    report.attempt(
      attempt({ statusCode: 503, error: { code: 'RELAY_ERR_HTTP_STATUS', message: 'x' }, success: false }),
      'retry',
    );
    report.attempt(
      attempt({ statusCode: null, error: { code: 'RELAY_ERR_TIMEOUT', message: 'x' }, durationMs: 5000 }),
      'fail',
    );
    report.retryScheduled();
    report.deadLettered();
    report.jobFinished(JobStatus.completed, now - 1500, 'app_a');
    report.jobFinished(JobStatus.failed, now - 2 * 3600_000, 'app_b');
    // Not final: not counted.
    report.jobFinished(JobStatus.retrying, now - 10, 'app_a');
    const callbacks = callbackMetrics(metrics);
    callbacks.callback('delivered');
    callbacks.callback('retry_scheduled');
    callbacks.callback('retry_scheduled');

    const text = await scrape(base);
    const lines = text.split('\n');
    for (const line of [
      'relay_attempts_total{outcome="success",status_class="2xx"} 2',
      'relay_attempts_total{outcome="retryable_failure",status_class="5xx"} 1',
      'relay_attempts_total{outcome="final_failure",status_class="timeout"} 1',
      // Known label sets start at 0.
      'relay_attempts_total{outcome="final_failure",status_class="4xx"} 0',
      'relay_retries_scheduled_total 1',
      'relay_jobs_dead_lettered_total 1',
      'relay_jobs_finished_total{status="completed",application="app_a"} 1',
      'relay_jobs_finished_total{status="failed",application="app_b"} 1',
      'relay_callback_deliveries_total{outcome="delivered"} 1',
      'relay_callback_deliveries_total{outcome="retry_scheduled"} 2',
      'relay_callback_deliveries_total{outcome="failed"} 0',
      'relay_attempt_duration_seconds_bucket{le="0.025",outcome="success"} 1',
      'relay_attempt_duration_seconds_bucket{le="0.05",outcome="success"} 2',
      'relay_attempt_duration_seconds_sum{outcome="success"} 0.05',
      'relay_attempt_duration_seconds_count{outcome="final_failure"} 1',
      'relay_job_latency_seconds_bucket{le="1",status="completed"} 0',
      'relay_job_latency_seconds_bucket{le="2.5",status="completed"} 1',
      'relay_job_latency_seconds_sum{status="completed"} 1.5',
      // Two hours is past the last bucket: only +Inf holds it.
      'relay_job_latency_seconds_bucket{le="3600",status="failed"} 0',
      'relay_job_latency_seconds_bucket{le="+Inf",status="failed"} 1',
    ]) {
      expect(lines).toContain(line);
    }
    expect(text).not.toContain('status="retrying"');
    // Node's process metrics come along.
    expect(text).toMatch(/^process_cpu_user_seconds_total /m);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds /m);
  });

  it('reads in-flight and queue depths at every scrape', async () => {
    let inFlight = 3;
    let depths: Record<string, number> | Error = { 'p.work': 120, 'p.dead-letters': 4 };
    const metrics = createWorkerMetrics({
      inFlight: () => inFlight,
      queueDepth: async () => {
        if (depths instanceof Error) throw depths;
        return depths;
      },
    });
    const base = await serve(metrics.registry);

    let lines = (await scrape(base)).split('\n');
    expect(lines).toContain('relay_worker_in_flight 3');
    expect(lines).toContain('relay_queue_depth{queue="p.work"} 120');
    expect(lines).toContain('relay_queue_depth{queue="p.dead-letters"} 4');

    inFlight = 0;
    depths = { 'p.work': 7 };
    lines = (await scrape(base)).split('\n');
    expect(lines).toContain('relay_worker_in_flight 0');
    expect(lines).toContain('relay_queue_depth{queue="p.work"} 7');
    // A queue no longer reported does not keep its last value.
    expect(lines.some((l) => l.includes('queue="p.dead-letters"'))).toBe(false);

    // The broker is down: the scrape still works, without queue depths.
    depths = new Error('channel closed');
    lines = (await scrape(base)).split('\n');
    expect(lines).toContain('relay_worker_in_flight 0');
    expect(lines.some((l) => l.startsWith('relay_queue_depth{'))).toBe(false);
  });

  it('keeps separate instances apart', async () => {
    const a = createWorkerMetrics();
    const b = createWorkerMetrics();
    a.retriesScheduled.inc(5);
    expect(await a.registry.getSingleMetricAsString('relay_retries_scheduled_total')).toContain(
      'relay_retries_scheduled_total 5',
    );
    expect(await b.registry.getSingleMetricAsString('relay_retries_scheduled_total')).toContain(
      'relay_retries_scheduled_total 0',
    );
  });

  it('registers in a given registry, without adding default metrics to it', async () => {
    const registry = new Registry();
    const metrics = createWorkerMetrics({ registry });
    expect(metrics.registry).toBe(registry);
    const text = await registry.metrics();
    expect(text).toContain('relay_attempts_total');
    expect(text).not.toContain('process_cpu_user_seconds_total');
  });
});

describe('consuming', () => {
  it('reports whether the worker consumes in relay_worker_consuming and on /health', async () => {
    let consuming = false;
    const metrics = createWorkerMetrics({ consuming: () => consuming });
    const server = await startMetricsServer({ port: 0, registry: metrics.registry, healthy: () => consuming });
    servers.push(server);
    const base = `http://127.0.0.1:${server.port}`;
    expect((await scrape(base)).split('\n')).toContain('relay_worker_consuming 0');
    let health = await fetch(`${base}/health`);
    expect(health.status).toBe(503);
    expect(await health.text()).toBe('not consuming');
    consuming = true;
    expect((await scrape(base)).split('\n')).toContain('relay_worker_consuming 1');
    health = await fetch(`${base}/health`);
    expect(health.status).toBe(200);
    expect(await health.text()).toBe('ok');
  });
});

describe('startMetricsServer', () => {
  it('answers /health, and 404 in the error shape elsewhere', async () => {
    const base = await serve(new Registry());
    const health = await fetch(`${base}/health`);
    expect(health.status).toBe(200);
    expect(await health.text()).toBe('ok');

    const missing = await fetch(`${base}/nope?x=1`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await missing.json()).toEqual({
      statusCode: 404,
      code: 'RELAY_ERR_NOT_FOUND',
      error: 'Not Found',
      message: 'No route for GET /nope',
    });

    const post = await fetch(`${base}/metrics`, { method: 'POST' });
    expect(post.status).toBe(404);
  });

  it('rejects when the port is taken, and closes while a client keeps its connection', async () => {
    const base = await serve(new Registry());
    const port = Number(new URL(base).port);
    await expect(startMetricsServer({ port, host: '127.0.0.1', registry: new Registry() })).rejects.toMatchObject({
      code: 'EADDRINUSE',
    });
    // fetch keeps the connection alive; close() must not wait for it.
    await fetch(`${base}/health`).then((r) => r.text());
    const server = servers.pop()!;
    await server.close();
    await expect(fetch(`${base}/health`)).rejects.toThrow();
  });
});
