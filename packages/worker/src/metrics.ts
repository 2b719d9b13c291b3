import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { ErrorCodes, JobStatus, type Attempt, type Logger } from '@relay/common';
import type { AttemptMetrics } from './process-attempt.js';
import type { CallbackDeps } from './callback-delivery.js';

/** `outcome` of an attempt: the retry policy's decision about it. */
export type AttemptOutcome = 'success' | 'retryable_failure' | 'final_failure';
/**
 * `status_class` of an attempt. `other` is a status outside 200–599 (undici
 * accepts any three digits): kept as one value so the label stays bounded.
 */
export type StatusClass = '2xx' | '3xx' | '4xx' | '5xx' | 'network' | 'timeout' | 'other';
/** `outcome` of one callback delivery. */
export type CallbackOutcome = 'delivered' | 'retry_scheduled' | 'failed';

const ATTEMPT_OUTCOMES: readonly AttemptOutcome[] = ['success', 'retryable_failure', 'final_failure'];
const STATUS_CLASSES: readonly StatusClass[] = ['2xx', '3xx', '4xx', '5xx', 'network', 'timeout'];
const CALLBACK_OUTCOMES: readonly CallbackOutcome[] = ['delivered', 'retry_scheduled', 'failed'];

/** Attempt durations: from a loopback answer (~1 ms) to the longest allowed timeout (60 s). */
const ATTEMPT_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60];
/** Submit to final status: one fast attempt (~5 ms) to a long retry series (an hour and more). */
const LATENCY_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600,
];

export interface WorkerMetricsOptions {
  /**
   * Where the metrics are registered. Each call makes its own by default, so
   * that tests and several workers in one process do not collide.
   * Node's default process metrics are added only to the registry made here
   * (one passed in may have them already; registering them twice throws).
   * @defaultValue a new Registry, with Node's default process metrics
   */
  registry?: Registry;
  /** Messages being handled right now; read at every scrape. */
  inFlight?: () => number;
  /**
   * Messages waiting, by queue name; read at every scrape. When it throws
   * (broker down), `relay_queue_depth` is left empty for that scrape rather
   * than failing the whole scrape or showing stale numbers.
   */
  queueDepth?: () => Promise<Record<string, number>>;
  /** Where a failing `queueDepth` is reported. */
  log?: Pick<Logger, 'warn'>;
}

export interface WorkerMetrics {
  registry: Registry;
  attempts: Counter<'outcome' | 'status_class'>;
  retriesScheduled: Counter;
  jobsFinished: Counter<'status' | 'application'>;
  deadLettered: Counter;
  callbacks: Counter<'outcome'>;
  attemptDuration: Histogram<'outcome'>;
  endToEndLatency: Histogram<'status'>;
  inFlight: Gauge;
  queueDepth: Gauge<'queue'>;
}

/** The worker's Prometheus metrics, registered in their own registry. */
export function createWorkerMetrics(options: WorkerMetricsOptions = {}): WorkerMetrics {
  const registry = options.registry ?? new Registry();
  if (!options.registry) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const { inFlight, queueDepth, log } = options;

  const metrics: WorkerMetrics = {
    registry,
    attempts: new Counter({
      name: 'relay_attempts_total',
      help: 'Target requests made, by the retry decision and the class of the answer',
      labelNames: ['outcome', 'status_class'] as const,
      registers,
    }),
    retriesScheduled: new Counter({
      name: 'relay_retries_scheduled_total',
      help: 'Retries put on the delay queues after a failed attempt',
      registers,
    }),
    jobsFinished: new Counter({
      name: 'relay_jobs_finished_total',
      help: 'Jobs that reached a final status, by status and owning application',
      labelNames: ['status', 'application'] as const,
      registers,
    }),
    deadLettered: new Counter({
      name: 'relay_jobs_dead_lettered_total',
      help: 'Failed jobs published to the dead-letter exchange',
      registers,
    }),
    callbacks: new Counter({
      name: 'relay_callback_deliveries_total',
      help: 'Deliveries of job results to callback URLs, by outcome',
      labelNames: ['outcome'] as const,
      registers,
    }),
    attemptDuration: new Histogram({
      name: 'relay_attempt_duration_seconds',
      help: 'Duration of one target request: connect, headers and body',
      labelNames: ['outcome'] as const,
      buckets: ATTEMPT_BUCKETS,
      registers,
    }),
    endToEndLatency: new Histogram({
      name: 'relay_job_latency_seconds',
      help: 'Time from submission to final status, retries included',
      labelNames: ['status'] as const,
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    inFlight: new Gauge({
      name: 'relay_worker_in_flight',
      help: 'Messages this worker is handling right now',
      registers,
      collect() {
        if (inFlight) this.set(inFlight());
      },
    }),
    queueDepth: new Gauge({
      name: 'relay_queue_depth',
      help: 'Messages waiting in a queue (ready, not yet handed to a consumer)',
      labelNames: ['queue'] as const,
      registers,
      async collect() {
        if (!queueDepth) return;
        // Reset first: a queue that is gone, or a failed read, must not keep its last value.
        this.reset();
        try {
          for (const [queue, depth] of Object.entries(await queueDepth())) this.set({ queue }, depth);
        } catch (err) {
          log?.warn({ err }, 'queue depth unavailable for this scrape');
        }
      },
    }),
  };

  // Known label sets start at 0, so that rate() sees the first increment of each.
  for (const outcome of ATTEMPT_OUTCOMES) {
    for (const status_class of STATUS_CLASSES) metrics.attempts.inc({ outcome, status_class }, 0);
  }
  for (const outcome of CALLBACK_OUTCOMES) metrics.callbacks.inc({ outcome }, 0);
  return metrics;
}

/**
 * The `status_class` label of an attempt: `timeout` for RELAY_ERR_TIMEOUT,
 * `network` for any other attempt without an answer, else the status range.
 */
export function statusClass(statusCode: number | null, errorCode: string | null): StatusClass {
  if (errorCode === ErrorCodes.TIMEOUT.code) return 'timeout';
  if (statusCode === null) return 'network';
  if (statusCode >= 200 && statusCode < 300) return '2xx';
  if (statusCode >= 300 && statusCode < 400) return '3xx';
  if (statusCode >= 400 && statusCode < 500) return '4xx';
  if (statusCode >= 500 && statusCode < 600) return '5xx';
  return 'other';
}

const OUTCOME_OF_DECISION: Record<'success' | 'retry' | 'fail', AttemptOutcome> = {
  success: 'success',
  retry: 'retryable_failure',
  fail: 'final_failure',
};

const FINISHED: ReadonlySet<string> = new Set<string>([JobStatus.completed, JobStatus.failed, JobStatus.cancelled]);

/** What `processAttempt` reports (`AttemptDeps.metrics`), recorded in `metrics`. */
export function attemptMetrics(metrics: WorkerMetrics, now: () => number = Date.now): AttemptMetrics {
  return {
    attempt(entry: Attempt, decision) {
      const outcome = OUTCOME_OF_DECISION[decision];
      metrics.attempts.inc({ outcome, status_class: statusClass(entry.statusCode, entry.error?.code ?? null) });
      metrics.attemptDuration.observe({ outcome }, entry.durationMs / 1000);
    },
    retryScheduled: () => metrics.retriesScheduled.inc(),
    deadLettered: () => metrics.deadLettered.inc(),
    jobFinished(status, createdAtMs, application) {
      if (!FINISHED.has(status)) return;
      metrics.jobsFinished.inc({ status, application });
      // A message from before createdAt was carried has NaN here: count the job, skip its latency.
      const seconds = (now() - createdAtMs) / 1000;
      if (Number.isFinite(seconds) && seconds >= 0) metrics.endToEndLatency.observe({ status }, seconds);
    },
  };
}

/** What `deliverCallback` reports (`CallbackDeps.metrics`), recorded in `metrics`. */
export function callbackMetrics(metrics: WorkerMetrics): NonNullable<CallbackDeps['metrics']> {
  return { callback: (outcome) => metrics.callbacks.inc({ outcome }) };
}

export interface MetricsServerOptions {
  /** 0 picks a free port; the one chosen is in the result. */
  port: number;
  /** @defaultValue '127.0.0.1' (use 0.0.0.0 in a container, for Prometheus to reach it) */
  host?: string;
  registry: Registry;
  log?: Pick<Logger, 'info' | 'error'>;
}

export interface MetricsServer {
  /** The port listened on (the actual one when 0 was asked for). */
  port: number;
  close(): Promise<void>;
}

/**
 * A bare node:http server for Prometheus: `GET /metrics` (the text
 * exposition of `registry`) and `GET /health` (200 `ok`, the process is up);
 * anything else is a 404 in relay's error shape. Rejects when it cannot
 * listen (port taken).
 */
export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const { registry, log } = options;
  const host = options.host ?? '127.0.0.1';
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const readable = req.method === 'GET' || req.method === 'HEAD';
    if (readable && path === '/metrics') {
      registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': registry.contentType });
          res.end(text);
        },
        (err: unknown) => {
          log?.error({ err }, 'metrics collection failed');
          res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
          res.end('metrics collection failed\n');
        },
      );
      return;
    }
    if (readable && path === '/health') {
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('ok');
      return;
    }
    const def = ErrorCodes.NOT_FOUND;
    res.writeHead(404, { 'content-type': 'application/json; charset=utf-8' });
    res.end(
      JSON.stringify({
        statusCode: 404,
        code: def.code,
        error: 'Not Found',
        message: `No route for ${req.method} ${path}`,
      }),
    );
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  log?.info({ host, port }, 'metrics server listening');

  return {
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        // Prometheus keeps its connection alive between scrapes: do not wait for it.
        server.closeAllConnections();
      }),
  };
}
