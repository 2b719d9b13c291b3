import type { ConfirmChannel } from 'amqplib';
import type { Dispatcher } from 'undici';
import {
  ApplicationStore,
  connectAmqp,
  DeadlineIndex,
  connectRedis,
  redisTarget,
  type EvictionCheck,
  declareTopology,
  HeaderRedactor,
  JobStore,
  networkAllowlist,
  queueDepths,
  queueNames,
  rabbitmqUrlsOf,
  secretKeys,
  type AmqpHandle,
  type Logger,
  type QueueType,
  type WorkMessage,
} from '@relay/common';
import type { Redis } from 'ioredis';
import { processAttempt } from './attempt/process-attempt.js';
import { processCallback } from './callback/process-callback.js';
import type { WorkerConfig } from './config.js';
import { Consumer } from './consumer.js';
import type { WorkerDeps } from './deps.js';
import { FairnessGate } from './fairness/fairness-gate.js';
import { HeldOutcomes } from './held-outcomes.js';
import { createGuardedAgent, type LookupFunction } from './http/connect-guard.js';
import type { EventConsumer } from './events/event-consumer.js';
import { createEventSide } from './events/event-side.js';
import { attemptMetrics, callbackMetrics } from './metrics/adapters.js';
import { createWorkerMetrics } from './metrics/definitions.js';
import { handleFailure } from './poison/handle-failure.js';
import { startMetricsServer } from './metrics/server.js';
import { createReconcilerMetrics } from './reconciler/reconciler-metrics.js';
import { Reconciler } from './reconciler/reconciler.js';
import { Scheduler } from './scheduler.js';
import { SigningSecretCache } from './signing/signing-secrets.js';
import { withActivity } from './heartbeat/activity-metrics.js';
import { ActivityWindow } from './heartbeat/activity-window.js';
import { HeartbeatPublisher } from './heartbeat/heartbeat.js';

/**
 * Sockets per origin never go below this, whatever WORKER_CONCURRENCY is;
 * above it there is one per slot, so that one origin can take every slot.
 */
const MIN_CONNECTIONS_PER_ORIGIN = 16;

/**
 * A message whose processing failed is tried again after this long; each
 * failure that counts towards POISON_MAX_FAILURES doubles it, up to
 * DEFER_MAX_MS (poison/failure-policy.ts).
 */
const DEFER_MS = 1000;
const DEFER_MAX_MS = 30_000;

export interface WorkerOptions {
  config: WorkerConfig;
  log: Logger;
  /**
   * Outbound HTTP; tests may pass a MockAgent (which bypasses the SSRF guard).
   * Defaults to a keep-alive Agent behind the guard.
   */
  dispatcher?: Dispatcher;
  /** DNS resolution of the default Agent's guard; defaults to `dns.lookup`. */
  lookup?: LookupFunction;
  random?: () => number;
}

export interface RelayWorker {
  /** Messages being handled right now. */
  inFlight(): number;
  /** Graceful stop: no new messages, in-flight ones get the grace period, then connections close. */
  stop(): Promise<void>;
}

/** Connects, declares the topology and starts consuming. */
export async function startWorker(options: WorkerOptions): Promise<RelayWorker> {
  const { config, log } = options;
  const queueType = config.queueType as QueueType;
  const queues = queueNames(config.prefix, queueType);
  const ownsDispatcher = !options.dispatcher;
  const dispatcher =
    options.dispatcher ??
    createGuardedAgent({
      allowlist: networkAllowlist(config.allowPrivateNetworks),
      lookup: options.lookup,
      keepAliveTimeout: config.outboundKeepAliveMs,
      connections: Math.max(MIN_CONNECTIONS_PER_ORIGIN, config.concurrency),
      connectTimeoutMs: config.outboundConnectTimeoutMs,
    });
  const random = options.random ?? Math.random;
  const now = Date.now;

  const redis: Redis = await connectRedis({
    target: redisTarget(config),
    log,
    startupTimeoutMs: config.startupTimeoutMs,
    commandTimeoutMs: config.redisCommandTimeoutMs,
    evictionCheck: config.redisEvictionCheck as EvictionCheck,
  });
  const redactor = new HeaderRedactor(config.redactHeaders);
  const keys = secretKeys(config.secretKey, config.secretKeysPrevious);
  const store = new JobStore(redis, {
    prefix: config.prefix,
    ttlSeconds: config.jobTtlSeconds,
    secretKey: keys,
    redactor,
    attemptLogMax: config.attemptLogMax,
  });
  // Signing secrets of applications, re-read every few seconds: a rotation
  // reaches this worker within the cache's time (SigningSecretCache).
  const applications = new ApplicationStore(redis, { prefix: config.prefix, secretKey: keys });
  // The backend moves old records too; whichever starts first does it (idempotent).
  const moved = await applications.migrateRecords(config.prefix);
  if (moved > 0) log.info({ moved }, 'application records moved to the hash-tagged layout');
  const signing = new SigningSecretCache(applications);

  // The consumer needs the scheduler and the scheduler needs the connection:
  // the consumer attaches from the connection's setup hook.
  // Publishing and consuming use separate connections: RabbitMQ blocks a
  // connection that publishes during a memory or disk alarm, and the acks of a
  // blocked connection would wait with it. Publishes wait out an alarm (up to
  // PUBLISH_TIMEOUT_MS, then the message is deferred or requeued) rather than
  // fail at once: nobody is waiting on a worker's answer.
  let consumer: Consumer | null = null;
  let eventConsumer: EventConsumer | null = null;
  let amqp: AmqpHandle;
  let consumeAmqp: AmqpHandle | undefined;
  const amqpOptions = { urls: rabbitmqUrlsOf(config), log, startupTimeoutMs: config.startupTimeoutMs };
  const declare = (channel: ConfirmChannel) =>
    declareTopology(channel, config.prefix, {
      deadLetterMaxBytes: config.deadLetterMaxBytes,
      queueType,
    });
  try {
    amqp = await connectAmqp({ ...amqpOptions, role: 'publish', setup: declare, redeclare: declare });
    consumeAmqp = await connectAmqp({
      ...amqpOptions,
      role: 'consume',
      setup: async (channel) => {
        await declare(channel);
        await consumer?.attach(channel);
        // The events consumer's own channel, on the same connection (opened
        // again after a reconnect; on the first connect, below).
        const model = consumeAmqp?.connection();
        if (model) await eventConsumer?.attach(model);
      },
    }).catch(async (err: unknown) => {
      await amqp.close();
      throw err;
    });
  } catch (err) {
    redis.disconnect();
    throw err;
  }
  const scheduler = new Scheduler(amqp, queues, config.publishTimeoutMs, now);
  const metrics = createWorkerMetrics({
    inFlight: () => consumer?.inFlightCount ?? 0,
    consuming: () => consumer?.consuming() ?? false,
    queueDepth: () =>
      queueDepths(amqp.connection(), [...queues.workQueues.map((w) => w.queue), queues.events, queues.deadLetters]),
    log,
  });
  // What the console shows of this worker (heartbeat/): written to Redis every second.
  const activity = new ActivityWindow(now);
  let stopping = false;
  const heartbeat = new HeartbeatPublisher({
    redis,
    prefix: config.prefix,
    activity,
    inFlight: () => consumer?.inFlightCount ?? 0,
    state: () => (stopping ? 'draining' : consumer?.consuming() ? 'consuming' : 'paused'),
    log,
  });
  const eventSide = createEventSide({
    redis,
    config,
    queues,
    amqp,
    scheduler,
    dispatcher,
    signing,
    secretKeys: keys,
    random,
    now,
    metrics,
    log,
    redeclare: (channel) =>
      declareTopology(channel, config.prefix, { deadLetterMaxBytes: config.deadLetterMaxBytes, queueType }),
  });
  const deps: WorkerDeps = {
    events: eventSide.emitter,
    store,
    scheduler,
    dispatcher,
    signing,
    redactor,
    random,
    now,
    bodyCap: config.responseBodyMaxBytes,
    jsonMaxDepth: config.jsonMaxDepth,
    attemptTimeoutMaxMs: config.attemptTimeoutMaxMs,
    maxDelayMs: config.retryMaxDelayMs,
    retryAfterMaxMs: config.retryAfterMaxMs,
    callbackMaxAttempts: config.callbackMaxAttempts,
    callbackRetryDelayMs: config.callbackRetryDelayMs,
    callbackTimeoutMs: config.callbackTimeoutMs,
    metrics: withActivity({ ...attemptMetrics(metrics, now), ...callbackMetrics(metrics) }, activity, now),
    heldAttempts: new HeldOutcomes(),
    heldCallbacks: new HeldOutcomes(),
  };
  const reconciler = new Reconciler({
    store,
    scheduler,
    now,
    events: eventSide.emitter,
    index: new DeadlineIndex(redis, config.prefix),
    log: log.child({ component: 'reconciler' }),
    metrics: createReconcilerMetrics(metrics.registry),
    graceMs: config.reconcileGraceMs,
    intervalMs: config.reconcileIntervalMs,
  });

  // Per-host and per-application caps: a message over either waits on the
  // delay queues instead of holding a slot (fairness/fairness-gate.ts).
  const fairness = new FairnessGate({
    caps: { host: config.hostConcurrency, application: config.applicationConcurrency },
    scheduler,
    now,
    random,
    onDefer: (reason) => metrics.fairnessDeferrals.inc({ reason }),
    localWaitMaxMs: config.hostLocalWaitMs,
    onLocalWait: (outcome) => metrics.fairnessLocalWaits.inc({ outcome }),
  });

  const handle = async (message: WorkMessage): Promise<void> => {
    if (scheduler.notYetDue(message)) return scheduler.schedule(message);
    await scheduler.waitUntilDue(message);
    const jobLog = log.child(
      message.kind === 'attempt' && message.requestId
        ? { jobId: message.jobId, requestId: message.requestId }
        : { jobId: message.jobId },
    );
    return fairness.run(message, jobLog, (admitted) =>
      admitted.kind === 'attempt' ? processAttempt(deps, admitted, jobLog) : processCallback(deps, admitted, jobLog),
    );
  };

  const defer = async (message: WorkMessage, err: unknown): Promise<void> => {
    const failureOptions = { maxFailures: config.poisonMaxFailures, baseDelayMs: DEFER_MS, maxDelayMs: DEFER_MAX_MS };
    await handleFailure(deps, message, err, failureOptions, log);
  };

  const metricsServer = await startMetricsServer({
    port: config.metricsPort,
    host: config.metricsHost,
    registry: metrics.registry,
    log,
    healthy: () => consumer?.consuming() ?? false,
  });
  consumer = new Consumer({
    queues,
    prefetch: config.concurrency,
    log,
    handle,
    defer,
    redeclare: declare,
    forwardEvent: (message) => scheduler.schedule(message),
  });
  eventConsumer = eventSide.consumer;
  const channel = consumeAmqp.channel();
  if (channel) await consumer.attach(channel);
  const model = consumeAmqp.connection();
  if (model) await eventConsumer.attach(model);
  reconciler.start();
  heartbeat.start();
  // Logged at warn so that it shows at any level: supervisors and tests wait for it.
  log.warn(
    { queues: queues.workQueues.map((w) => w.queue), concurrency: config.concurrency, metricsPort: metricsServer.port },
    'worker consuming',
  );

  return {
    inFlight: () => consumer?.inFlightCount ?? 0,
    async stop() {
      stopping = true;
      await heartbeat.announce();
      await reconciler.stop();
      const [left, eventsLeft] = await Promise.all([
        consumer?.stop(config.shutdownGraceMs) ?? 0,
        eventConsumer?.stop(config.shutdownGraceMs) ?? 0,
      ]);
      if (eventsLeft > 0) log.warn({ left: eventsLeft }, 'event deliveries unfinished; they will be redelivered');
      if (left > 0) log.warn({ left }, 'grace period over; unfinished messages will be redelivered');
      await heartbeat.stop();
      await metricsServer.close();
      await Promise.all([consumeAmqp?.close(), amqp.close()]);
      redis.disconnect();
      if (ownsDispatcher) await dispatcher.close().catch(() => undefined);
      log.info('worker stopped');
    },
  };
}
