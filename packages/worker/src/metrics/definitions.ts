import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { metricsRegistry, type Logger } from '@relay/common';
import { DEFERRAL_REASONS, LOCAL_WAIT_OUTCOMES } from '../fairness/admission.js';
import type { EventDeliveryOutcome } from '../events/event-deps.js';
import type { CallbackOutcome } from '../ports.js';

/** `outcome` of an attempt: the retry policy's decision about it. */
export type AttemptOutcome = 'success' | 'retryable_failure' | 'final_failure';
/**
 * `status_class` of an attempt. `other` is a status outside 200–599 (undici
 * accepts any three digits): kept as one value so the label stays bounded.
 */
export type StatusClass = '2xx' | '3xx' | '4xx' | '5xx' | 'network' | 'timeout' | 'other';

const ATTEMPT_OUTCOMES: readonly AttemptOutcome[] = ['success', 'retryable_failure', 'final_failure'];
const STATUS_CLASSES: readonly StatusClass[] = ['2xx', '3xx', '4xx', '5xx', 'network', 'timeout'];
const CALLBACK_OUTCOMES: readonly CallbackOutcome[] = ['delivered', 'retry_scheduled', 'failed'];
const EVENT_OUTCOMES: readonly EventDeliveryOutcome[] = ['delivered', 'retry_scheduled', 'failed', 'dropped'];

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
  /** Whether the worker has a consumer on the work queue; read at every scrape. */
  consuming?: () => boolean;
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
  eventDeliveries: Counter<'outcome'>;
  attemptDuration: Histogram<'outcome'>;
  endToEndLatency: Histogram<'status'>;
  inFlight: Gauge;
  consuming: Gauge;
  queueDepth: Gauge<'queue'>;
  fairnessDeferrals: Counter<'reason'>;
  fairnessLocalWaits: Counter<'outcome'>;
}

/** The worker's Prometheus metrics, registered in their own registry. */
export function createWorkerMetrics(options: WorkerMetricsOptions = {}): WorkerMetrics {
  const registry = metricsRegistry(options.registry);
  const registers = [registry];
  const { inFlight, consuming, queueDepth, log } = options;

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
    eventDeliveries: new Counter({
      name: 'relay_event_deliveries_total',
      help: 'Deliveries of lifecycle events to webhooks and subscriptions, by outcome (dropped: the subscription was disabled or deleted since the event)',
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
    consuming: new Gauge({
      name: 'relay_worker_consuming',
      help: '1 while this worker consumes from the work queue, 0 while it does not (reconnecting, reopening its channel, stopping)',
      registers,
      collect() {
        if (consuming) this.set(consuming() ? 1 : 0);
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
    fairnessDeferrals: new Counter({
      name: 'relay_fairness_deferrals_total',
      help: 'Messages put back on the delay queues because their host or application was at its cap in this worker',
      labelNames: ['reason'] as const,
      registers,
    }),
    fairnessLocalWaits: new Counter({
      name: 'relay_fairness_local_waits_total',
      help: 'Messages over their host cap that waited in this worker for a slot of a fast host (HOST_LOCAL_WAIT_MS) instead of the delay queues: started, or timed_out and put back',
      labelNames: ['outcome'] as const,
      registers,
    }),
  };
  for (const reason of DEFERRAL_REASONS) metrics.fairnessDeferrals.inc({ reason }, 0);
  for (const outcome of LOCAL_WAIT_OUTCOMES) metrics.fairnessLocalWaits.inc({ outcome }, 0);

  // Known label sets start at 0, so that rate() sees the first increment of each.
  for (const outcome of ATTEMPT_OUTCOMES) {
    for (const status_class of STATUS_CLASSES) metrics.attempts.inc({ outcome, status_class }, 0);
  }
  for (const outcome of CALLBACK_OUTCOMES) metrics.callbacks.inc({ outcome }, 0);
  for (const outcome of EVENT_OUTCOMES) metrics.eventDeliveries.inc({ outcome }, 0);
  return metrics;
}
