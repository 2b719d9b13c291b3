import { commonConfigSpec, JobSpecLimits, loadConfig, MessageLimits, type ConfigOf } from '@relay/common';

export const workerConfigSpec = {
  ...commonConfigSpec,
  concurrency: {
    kind: 'int',
    env: 'WORKER_CONCURRENCY',
    default: 64,
    min: 1,
    max: 1000,
    doc: 'Messages processed at once by one worker (RabbitMQ prefetch)',
  },
  hostConcurrency: {
    kind: 'int',
    env: 'HOST_CONCURRENCY',
    // Half of the default WORKER_CONCURRENCY: one slow destination can hold
    // at most half of a worker's slots, the rest stay for everyone else.
    default: 32,
    min: 1,
    max: 1000,
    doc: "Messages one worker handles at once for one destination origin (a target's, or a queued callback's); more wait on the delay queues without spending a retry. Per worker process; at or above WORKER_CONCURRENCY it has no effect",
  },
  applicationConcurrency: {
    kind: 'int',
    env: 'APPLICATION_CONCURRENCY',
    // Three quarters of the default WORKER_CONCURRENCY: a busy application
    // leaves a quarter of the slots to the others.
    default: 48,
    min: 1,
    max: 1000,
    doc: 'Messages one worker handles at once for one application; more wait on the delay queues without spending a retry. Per worker process; at or above WORKER_CONCURRENCY it has no effect',
  },
  hostLocalWaitMs: {
    kind: 'int',
    env: 'HOST_LOCAL_WAIT_MS',
    // A fast host's slot frees within a few ms; a slow one (a flood on a
    // target that takes seconds) expects waits far above this and is put back.
    default: 100,
    min: 0,
    max: 10_000,
    doc: "A message over HOST_CONCURRENCY waits in the worker for its host's next free slot, instead of on the delay queues, when its expected wait (from the host's recent request times) is at most this long (ms); 0 puts every such message back on the delay queues",
  },
  shutdownGraceMs: {
    kind: 'int',
    env: 'WORKER_SHUTDOWN_GRACE_MS',
    default: 15_000,
    min: 0,
    max: 300_000,
    doc: 'On SIGTERM, how long in-flight attempts may run before their messages are left to be redelivered (ms)',
  },
  metricsPort: {
    kind: 'int',
    env: 'WORKER_METRICS_PORT',
    default: 9464,
    min: 0,
    max: 65_535,
    doc: "Port of the worker's Prometheus /metrics and /health (0: any free port, logged at start)",
  },
  metricsHost: {
    kind: 'string',
    env: 'WORKER_METRICS_HOST',
    default: '127.0.0.1',
    doc: "Interface of the worker's metrics server (0.0.0.0 in a container)",
  },
  responseBodyMaxBytes: {
    kind: 'int',
    env: 'RESPONSE_BODY_MAX_BYTES',
    default: 65_536,
    min: 0,
    max: 10_485_760,
    doc: 'Bytes of a target response body stored per attempt; reading stops past this, and the entry is flagged truncated',
  },
  attemptTimeoutMaxMs: {
    kind: 'int',
    env: 'ATTEMPT_TIMEOUT_MAX_MS',
    // A job's timeout is at most 60 s by schema: a higher ceiling would do nothing.
    default: JobSpecLimits.timeout.maximum,
    min: JobSpecLimits.timeout.minimum,
    max: JobSpecLimits.timeout.maximum,
    doc: "Ceiling of one target request (ms): a job's `timeout` above it is clamped to it, since each running attempt holds a worker slot until its deadline",
  },
  retryMaxDelayMs: {
    kind: 'int',
    env: 'RETRY_MAX_DELAY_MS',
    default: 3_600_000,
    min: 100,
    max: 86_400_000,
    doc: 'Upper bound of one backoff delay (ms)',
  },
  retryAfterMaxMs: {
    kind: 'int',
    env: 'RETRY_AFTER_MAX_MS',
    default: 3_600_000,
    min: 0,
    max: 86_400_000,
    doc: 'Longest Retry-After a target may ask for; longer values are capped to this (ms)',
  },
  callbackMaxAttempts: {
    kind: 'int',
    env: 'CALLBACK_MAX_ATTEMPTS',
    default: 8,
    min: 1,
    // A callback message with a higher delivery number is refused as forged.
    max: MessageLimits.delivery.maximum,
    doc: 'Delivery attempts of a result to its callback URL before it is marked failed',
  },
  callbackRetryDelayMs: {
    kind: 'int',
    env: 'CALLBACK_RETRY_DELAY_MS',
    default: 1000,
    min: 10,
    max: 600_000,
    doc: 'Base of the callback backoff (ms), doubled per failed delivery',
  },
  callbackTimeoutMs: {
    kind: 'int',
    env: 'CALLBACK_TIMEOUT_MS',
    default: 10_000,
    min: 100,
    max: 60_000,
    doc: 'Deadline of one callback delivery (ms)',
  },
  eventConcurrency: {
    kind: 'int',
    env: 'EVENT_CONCURRENCY',
    default: 32,
    min: 1,
    max: 1000,
    doc: 'Event messages delivered at once by one worker (prefetch of the events queue, on its own channel): event deliveries never take a WORKER_CONCURRENCY slot',
  },
  eventMaxAttempts: {
    kind: 'int',
    env: 'EVENT_MAX_ATTEMPTS',
    default: 8,
    min: 1,
    // An event message with a higher delivery number is refused as forged.
    max: MessageLimits.delivery.maximum,
    doc: 'Delivery attempts of one event to one webhook or subscription before it is marked failed',
  },
  eventRetryDelayMs: {
    kind: 'int',
    env: 'EVENT_RETRY_DELAY_MS',
    default: 5000,
    min: 10,
    max: 600_000,
    doc: 'Base of the event delivery backoff (ms), doubled per failed delivery; the deadline of one delivery is CALLBACK_TIMEOUT_MS',
  },
  subscriptionDisableAfterDays: {
    kind: 'number',
    env: 'SUBSCRIPTION_DISABLE_AFTER_DAYS',
    default: 5,
    min: 0.0001,
    max: 365,
    doc: 'A subscription whose deliveries have failed for this many days in a row (no success between) is disabled, and endpoint.disabled goes to the subscriptions that ask for it (days; fractions allowed)',
  },
  outboundKeepAliveMs: {
    kind: 'int',
    env: 'OUTBOUND_KEEP_ALIVE_MS',
    // Below the 5 s idle timeout of Node's http server (a common target), so
    // that relay closes an idle socket before the target does: a request
    // written onto a socket the server is closing fails as a reset.
    default: 4000,
    min: 1,
    max: 600_000,
    doc: 'How long an idle connection to a target or callback receiver is kept open for reuse (ms)',
  },
  outboundConnectTimeoutMs: {
    kind: 'int',
    env: 'OUTBOUND_CONNECT_TIMEOUT_MS',
    default: 10_000,
    min: 100,
    max: 60_000,
    doc: "Deadline of the TCP and TLS connect to a target or callback receiver (ms); the attempt's own timeout applies as well",
  },
  reconcileGraceMs: {
    kind: 'int',
    env: 'RECONCILE_GRACE_MS',
    // Above the longest inline callback delivery (CALLBACK_TIMEOUT_MS at most
    // 60 s), so that a delivery still running is not repeated; a queue backlog
    // older than this gets redundant copies, which the job scripts drop.
    default: 120_000,
    min: 100,
    max: 3_600_000,
    doc: 'How long past its due time, lease end or callback due time a job may go without progress before the reconciler publishes its work again (ms): no job stays non-final longer than its schedule plus this (and one sweep)',
  },
  reconcileIntervalMs: {
    kind: 'int',
    env: 'RECONCILE_INTERVAL_MS',
    default: 5000,
    min: 50,
    max: 600_000,
    doc: "Time between the reconciler's sweeps (ms); its lease lasts three intervals, so another worker takes over that long after the active one dies",
  },
  poisonMaxFailures: {
    kind: 'int',
    env: 'POISON_MAX_FAILURES',
    default: 5,
    min: 1,
    max: MessageLimits.failures.maximum,
    doc: 'Times the handling of one message may fail (an outage of Redis or RabbitMQ does not count) before it is dead-lettered and its job ends failed with RELAY_ERR_POISON_MESSAGE',
  },
} as const;

export type WorkerConfig = ConfigOf<typeof workerConfigSpec>;

export function loadWorkerConfig(env: Record<string, string | undefined> = process.env): WorkerConfig {
  return loadConfig(workerConfigSpec, env);
}
