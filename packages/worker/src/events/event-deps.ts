import type { Dispatcher } from 'undici';
import type { DeliveryLogWriter, EndpointHealth, EventMessage, Subscription, SubscriptionMatcher } from '@relay/common';
import type { SigningLookup } from '../signing/signing-secrets.js';

/** Outcome of one event delivery to one destination, as metrics count it. */
export type EventDeliveryOutcome = 'delivered' | 'retry_scheduled' | 'failed' | 'dropped';

export interface EventMetrics {
  eventDelivery(outcome: EventDeliveryOutcome): void;
}

/**
 * The subscription a destination names, as of each delivery: its URL and
 * headers, and null once it is deleted or disabled (the per-process cache,
 * at most a second old: SubscriptionCache.get).
 */
export interface SubscriptionReader {
  get(application: string, id: string): Promise<Subscription | null>;
}

/** What delivering events uses, wired once in worker.ts. */
export interface EventDeps {
  /** Publishes a retry copy (through the delay tiers) or a new event (dueAt 0: straight to the events queue). */
  scheduler: { schedule(message: EventMessage): Promise<void> };
  /** The same guarded dispatcher as targets and callbacks: the SSRF guard applies. */
  dispatcher: Dispatcher;
  signing: SigningLookup;
  subscriptions: SubscriptionReader;
  /** Who else wants endpoint.disabled. */
  matcher: SubscriptionMatcher;
  deliveryLog: DeliveryLogWriter;
  health: EndpointHealth;
  random: () => number;
  now: () => number;
  /** EVENT_MAX_ATTEMPTS. */
  maxAttempts: number;
  /** EVENT_RETRY_DELAY_MS: base of the backoff. */
  retryDelayMs: number;
  /** RETRY_MAX_DELAY_MS. */
  maxDelayMs: number;
  /** CALLBACK_TIMEOUT_MS: the deadline of one delivery. */
  timeoutMs: number;
  /** SUBSCRIPTION_DISABLE_AFTER_DAYS in ms. */
  disableAfterMs: number;
  metrics?: EventMetrics;
}
