import type { EventName } from './event-names.js';
import type { EventBody } from './event-message.js';
import type { EventDelivery, EventDeliveryStatus, Subscription } from './subscription-schema.js';

/**
 * The seams between the stores of events (subscription-store.ts,
 * delivery-log.ts, subscription-cache.ts) and their users (the backend's
 * routes and emitters, the worker's event delivery).
 */

/**
 * What a subscription's filters are matched against: the job as it is after
 * the event. For an application event (endpoint.disabled) there is no job:
 * the filters do not apply (pass metadata {}, host '' and status '').
 */
export interface EventSubject {
  event: EventName;
  metadata: Record<string, string>;
  /** Lower-case host of the job's target URL, without port. */
  host: string;
  status: string;
}

/**
 * Enabled subscriptions of an application that want one event, found through
 * the index (subscription-index.ts); subscription-cache.ts implements it.
 */
export interface SubscriptionMatcher {
  match(application: string, subject: EventSubject): Promise<readonly Subscription[]>;
}

/** A delivery's outcome, as the worker records it. */
export interface DeliveryOutcome {
  status: EventDeliveryStatus;
  attempts: number;
  lastStatusCode: number | null;
  error: { code: string; message: string } | null;
  nextAttemptAt: string | null;
}

/** Write side of the per-subscription delivery log (the worker's). */
export interface DeliveryLogWriter {
  /**
   * Records an outcome; the first record of a delivery keeps `body` for a
   * resend. Idempotent per (id, attempts). A `delivered` outcome also ends
   * the subscription's run of failures (EndpointHealth), in the same step.
   */
  record(
    application: string,
    subscriptionId: string,
    delivery: { id: string; body: EventBody },
    outcome: DeliveryOutcome,
  ): Promise<void>;
}

/**
 * Endpoint health: a run of failures long enough disables the subscription.
 * A delivered outcome ends the run (DeliveryLogWriter.record does it).
 */
export interface EndpointHealth {
  /**
   * A delivery to it failed at `nowMs`. Returns the subscription if this
   * failure disabled it (its run of failures reached `disableAfterMs`), once:
   * the caller then emits endpoint.disabled.
   */
  failed(application: string, subscriptionId: string, nowMs: number, disableAfterMs: number): Promise<Subscription | null>;
}

/** Read side of the delivery log (the backend's). */
export interface DeliveryLogReader {
  page(
    application: string,
    subscriptionId: string,
    query: { limit: number; cursor: string | null; status?: EventDeliveryStatus },
  ): Promise<{ deliveries: EventDelivery[]; nextCursor: string | null }>;
  /** The delivery and the body it sent, for a resend. */
  get(application: string, subscriptionId: string, deliveryId: string): Promise<{ delivery: EventDelivery; body: EventBody } | null>;
}
