import {
  emitEndpointDisabled,
  type DeliveryOutcome,
  type EventDestination,
  type EventMessage,
  type Logger,
} from '@relay/common';
import { outcomeError } from '../http/error-classification.js';
import { sendHttp } from '../http/http-call.js';
import { decideCallback } from '../retry-policy.js';
import { signWebhook } from '../signing/webhook-signature.js';
import type { EventDeps } from './event-deps.js';
import { eventHeaders, retryCopy } from './event-request.js';

/** Bytes of a receiver's answer read: only its status counts (as for callbacks). */
const EVENT_RESPONSE_MAX_BYTES = 4096;

/**
 * Delivers one event to one destination (delivery number
 * `destination.delivery`), with the callback's policy (decideCallback): a
 * 2xx delivers, 410 or Relay-No-Retry stops, anything else is tried again
 * with jittered backoff up to EVENT_MAX_ATTEMPTS. A retry is a copy of the
 * message for this destination alone, published through the delay tiers
 * before the outcome is recorded: a crash in between sends it twice, never
 * not at all. Resolves when the outcome is recorded (and the retry is on the
 * broker); throws when Redis or the broker failed, and the caller defers the
 * message.
 *
 * Subscription deliveries are recorded in the subscription's delivery log
 * and count for its endpoint health. A job's own webhooks have no log (they
 * belong to no subscription, and the job record has no room for one):
 * their outcomes are logged at info (retries) and warn (failures) only.
 */
export async function deliverEvent(
  deps: EventDeps,
  message: EventMessage,
  destination: EventDestination,
  log: Logger,
): Promise<void> {
  const { application, body } = message;
  const subscription =
    destination.kind === 'subscription' ? await deps.subscriptions.get(application, destination.id) : null;
  if (destination.kind === 'subscription' && (!subscription || !subscription.enabled)) {
    // Deleted or disabled since the event: it asked to get nothing more.
    log.debug(
      { subscriptionId: destination.id, webhookId: destination.webhookId },
      'event for a disabled subscription dropped',
    );
    deps.metrics?.eventDelivery('dropped');
    return;
  }
  const url = subscription?.url ?? destination.url;
  const logged = { id: destination.webhookId, body };
  const record = (outcome: DeliveryOutcome) =>
    subscription ? deps.deliveryLog.record(application, subscription.id, logged, outcome) : Promise.resolve();
  // No `pending` record before the send: the outcome's record is the
  // delivery's first (it keeps the body, for a resend), so a delivery costs
  // one Redis round trip. A worker that dies mid-send leaves the message to
  // the broker, whose next copy sends and records it.

  const payload = JSON.stringify(body);
  const headers = eventHeaders(body, subscription?.headers);
  const signing = await deps.signing.get(application);
  if (signing && signing.secrets.length > 0) {
    // Signed at each send: the timestamp is this delivery's, the id the event's (one per destination).
    const timestamp = Math.floor(deps.now() / 1000);
    Object.assign(
      headers,
      signWebhook({ id: destination.webhookId, timestamp, body: payload, secrets: signing.secrets }),
    );
  }
  const result = await sendHttp(deps.dispatcher, {
    url,
    method: 'POST',
    headers,
    body: payload,
    timeoutMs: deps.timeoutMs,
    bodyCap: EVENT_RESPONSE_MAX_BYTES,
  });
  const decision = decideCallback(
    result,
    destination.delivery,
    { maxAttempts: deps.maxAttempts, retryDelayMs: deps.retryDelayMs, maxDelayMs: deps.maxDelayMs },
    deps.random(),
  );
  const error = outcomeError(result, decision, 'event receiver');
  const fields = {
    event: body.event,
    sequence: body.sequence,
    destination: destination.kind,
    ...(subscription ? { subscriptionId: subscription.id } : {}),
    delivery: destination.delivery,
    statusCode: result.statusCode,
  };
  const outcome = {
    attempts: destination.delivery,
    lastStatusCode: result.statusCode,
    error: error && { code: error.code, message: error.message },
  };

  if (decision.kind === 'success') {
    // The record also ends the subscription's run of failures, if any.
    await record({ ...outcome, status: 'delivered', nextAttemptAt: null });
    deps.metrics?.eventDelivery('delivered');
    log.debug(fields, 'event delivered');
    return;
  }
  if (decision.kind === 'retry') {
    const dueAt = deps.now() + decision.delayMs;
    await deps.scheduler.schedule(retryCopy(message, destination, dueAt));
    await record({ ...outcome, status: 'retrying', nextAttemptAt: new Date(dueAt).toISOString() });
    deps.metrics?.eventDelivery('retry_scheduled');
    log.info({ ...fields, error: error?.code, delayMs: decision.delayMs }, 'event delivery failed; retry scheduled');
  } else {
    await record({ ...outcome, status: 'failed', nextAttemptAt: null });
    deps.metrics?.eventDelivery('failed');
    log.warn({ ...fields, error }, 'event delivery failed for good');
  }
  if (subscription) await countFailure(deps, application, subscription.id, log);
}

/**
 * A failed delivery to a subscription extends its run of failures; the one
 * that makes the run long enough disables it (EndpointHealth says so once),
 * and the application's other subscriptions that ask for it are told.
 */
async function countFailure(deps: EventDeps, application: string, subscriptionId: string, log: Logger): Promise<void> {
  const now = deps.now();
  const disabled = await deps.health.failed(application, subscriptionId, now, deps.disableAfterMs);
  if (!disabled) return;
  log.warn({ subscriptionId, since: disabled.failingSince }, 'subscription disabled: its endpoint kept failing');
  await emitEndpointDisabled(
    { matcher: deps.matcher, publish: (m) => deps.scheduler.schedule(m) },
    application,
    disabled,
    new Date(now).toISOString(),
  );
}
