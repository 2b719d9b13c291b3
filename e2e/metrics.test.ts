import { queueNames } from '@relay/common';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { reply, TestServer } from './support/http-servers.js';
import { startStack, type Stack } from './support/stack.js';

/**
 * Prometheus metrics from both processes move as jobs succeed, retry and fail;
 * the JSON counters in Redis add up across two workers.
 */
let stack: Stack;
const target = new TestServer();

beforeAll(async () => {
  await target.listen();
  stack = await startStack('metrics', { workers: 2 });
});

afterAll(async () => {
  await stack?.stop();
  await target.close();
});

/** Parses Prometheus text into `name{labels}` -> value. */
async function scrape(url: string): Promise<Map<string, number>> {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  const out = new Map<string, number>();
  for (const line of (await res.text()).split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

function sum(m: Map<string, number>, prefix: string): number {
  let total = 0;
  for (const [k, v] of m) if (k === prefix || k.startsWith(`${prefix}{`)) total += v;
  return total;
}

function pick(m: Map<string, number>, name: string, label: string): number {
  let total = 0;
  for (const [k, v] of m) if (k.startsWith(`${name}{`) && k.includes(label)) total += v;
  return total;
}

it('counters move with jobs in both processes and add up across two workers in /api/metrics', async () => {
  target.on('/ok', (_req, res) => reply(res, 200));
  target.on('/flaky', (_req, res, n) => reply(res, n % 2 === 1 ? 503 : 200));
  target.on('/bad', (_req, res) => reply(res, 422));
  const before = (await stack.api.send('GET', '/api/metrics')).body;
  expect(before).toMatchObject({ jobs_created: 0, jobs_success: 0, jobs_failed: 0 });

  const ids = [
    ...(await Promise.all(Array.from({ length: 10 }, () => stack.api.submitOk({ targetUrl: target.url('/ok') })))),
    ...(await Promise.all(
      Array.from({ length: 4 }, () => stack.api.submitOk({ targetUrl: target.url('/flaky'), retryDelay: 100 })),
    )),
    ...(await Promise.all(Array.from({ length: 3 }, () => stack.api.submitOk({ targetUrl: target.url('/bad') })))),
  ];
  expect((await stack.api.submit({ targetUrl: 'ftp://nope' })).status).toBe(400);
  const jobs = await Promise.all(ids.map((id) => stack.api.waitFinal(id)));
  // Retries scheduled, not jobs retried: a flaky job may fail more than once.
  const retried = jobs.reduce((n, j) => n + j.attempts - 1, 0);
  expect(retried).toBeGreaterThan(0);

  // Cluster-wide JSON counters, from Redis.
  const after = (await stack.api.send('GET', '/api/metrics')).body;
  expect(after).toMatchObject({
    jobs_created: 17,
    jobs_success: 14,
    jobs_failed: 3,
    jobs_dlq: 3,
    jobs_retried: retried,
    jobs_processing: 0,
  });

  // Each worker's Prometheus counters: the two together saw every job.
  const [w1, w2] = await Promise.all(stack.workers.map((w) => scrape(`http://127.0.0.1:${w.metricsPort}/metrics`)));
  const both = (name: string, label = '') =>
    label ? pick(w1!, name, label) + pick(w2!, name, label) : sum(w1!, name) + sum(w2!, name);
  // Both workers took part, so the Redis counters above really are a sum of two.
  expect(sum(w1!, 'relay_attempts_total')).toBeGreaterThan(0);
  expect(sum(w2!, 'relay_attempts_total')).toBeGreaterThan(0);
  expect(both('relay_jobs_finished_total', 'status="completed"')).toBe(14);
  expect(both('relay_jobs_finished_total', 'status="failed"')).toBe(3);
  expect(both('relay_jobs_dead_lettered_total')).toBe(3);
  expect(both('relay_retries_scheduled_total')).toBe(retried);
  expect(both('relay_attempts_total', 'outcome="success"')).toBe(14);
  expect(both('relay_attempts_total', 'outcome="retryable_failure"')).toBe(retried);
  expect(both('relay_attempts_total', 'status_class="4xx"')).toBe(3);
  expect(both('relay_attempt_duration_seconds_count')).toBe(14 + retried + 3);
  expect(both('relay_job_latency_seconds_count')).toBe(17);
  expect(sum(w1!, 'relay_worker_in_flight')).toBe(0);
  expect(sum(w1!, 'process_cpu_seconds_total')).toBeGreaterThan(0);
  expect(sum(w1!, 'relay_queue_depth')).toBeGreaterThanOrEqual(0);
  expect(w1!.has(`relay_queue_depth{queue="${queueNames(stack.prefix).deadLetters}"}`)).toBe(true);

  // The backend's own.
  const b = await scrape(`${stack.api.baseUrl}/metrics`);
  expect(sum(b, 'relay_jobs_accepted_total')).toBe(17);
  expect(pick(b, 'relay_jobs_rejected_total', 'reason="validation"')).toBe(1);
  expect(pick(b, 'relay_http_requests_total', 'route="/api/jobs"')).toBeGreaterThanOrEqual(18);
});
