import type { Channel } from 'amqplib';
import type { Redis } from 'ioredis';
import type { Dispatcher } from 'undici';
import {
  DeliveryLog,
  EventEmitter,
  publishEventMessage,
  SubscriptionCache,
  SubscriptionStore,
  type AmqpHandle,
  type EventMessage,
  type Logger,
  type QueueNames,
  type SecretKeys,
} from '@relay/common';
import type { WorkerConfig } from '../config.js';
import { eventMetrics } from '../metrics/adapters.js';
import type { WorkerMetrics } from '../metrics/definitions.js';
import type { Scheduler } from '../scheduler.js';
import type { SigningLookup } from '../signing/signing-secrets.js';
import { EventConsumer } from './event-consumer.js';
import type { EventDeps } from './event-deps.js';
import { KeyedChain } from './keyed-chain.js';
import { deferredEvent, processEvent } from './process-event.js';

const DAY_MS = 86_400_000;

export interface EventSideOptions {
  redis: Redis;
  config: WorkerConfig;
  queues: QueueNames;
  /** The publish connection (events are published on it, confirmed). */
  amqp: AmqpHandle;
  scheduler: Scheduler;
  dispatcher: Dispatcher;
  signing: SigningLookup;
  /** RELAY_SECRET_KEY and the previous keys: subscription headers rest sealed with them. */
  secretKeys: SecretKeys;
  random: () => number;
  now: () => number;
  metrics: WorkerMetrics;
  log: Logger;
  /** Declares the topology (after the broker cancelled the events consumer). */
  redeclare: (channel: Channel) => Promise<void>;
}

/**
 * The worker's side of lifecycle events, wired once: the emitter the attempt
 * flow calls (subscriptions matched through a per-process index, so a job
 * nobody listens to costs no broker message), and the consumer of the events
 * queue that delivers them.
 */
export function createEventSide(o: EventSideOptions): { emitter: EventEmitter; consumer: EventConsumer } {
  const { config, scheduler, now } = o;
  const subscriptions = new SubscriptionStore(o.redis, {
    prefix: config.prefix,
    secretKey: o.secretKeys,
  });
  const matcher = new SubscriptionCache(subscriptions);
  const emitter = new EventEmitter({
    matcher,
    publish: (message) => publishEventMessage(o.amqp, o.queues, message, config.publishTimeoutMs),
  });
  const deliveryLog = new DeliveryLog(o.redis, {
    prefix: config.prefix,
    ttlSeconds: config.jobTtlSeconds,
    subscriptions,
  });
  const deps: EventDeps = {
    scheduler,
    dispatcher: o.dispatcher,
    signing: o.signing,
    subscriptions: matcher,
    matcher,
    deliveryLog,
    health: deliveryLog,
    random: o.random,
    now,
    maxAttempts: config.eventMaxAttempts,
    retryDelayMs: config.eventRetryDelayMs,
    maxDelayMs: config.retryMaxDelayMs,
    timeoutMs: config.callbackTimeoutMs,
    disableAfterMs: config.subscriptionDisableAfterDays * DAY_MS,
    metrics: eventMetrics(o.metrics),
  };
  const chain = new KeyedChain();
  const log = o.log.child({ component: 'events' });

  const handle = async (message: EventMessage): Promise<void> => {
    // A retry back from a delay tier before its time takes another hop.
    if (scheduler.notYetDue(message)) return scheduler.schedule(message);
    await scheduler.waitUntilDue(message);
    const jobLog = message.body.jobId ? log.child({ jobId: message.body.jobId }) : log;
    const { failed, errors } = await processEvent(deps, chain, message, jobLog);
    if (failed.length === 0) return;
    // Only the destinations whose handling threw (Redis or the broker down) go back, later.
    const copy = deferredEvent(message, failed, now());
    if (!copy) {
      jobLog.error({ err: errors[0], destinations: failed.length }, 'event deliveries dropped after repeated failures');
      return;
    }
    jobLog.warn({ err: errors[0], destinations: failed.length }, 'event delivery failed (backing service); deferred');
    await scheduler.schedule(copy);
  };

  const consumer = new EventConsumer({
    queue: o.queues.events,
    prefetch: config.eventConcurrency,
    log,
    handle,
    redeclare: o.redeclare,
  });
  return { emitter, consumer };
}
