import type { FastifyInstance } from 'fastify';
import {
  MESSAGE_VERSION,
  RelayError,
  type EventBody,
  type EventDelivery,
  type EventMessage,
  type Subscription,
} from '@relay/common';

/**
 * Resending deliveries of a subscription's log: each goes again as an event
 * message with one destination, the subscription's current URL, under the
 * same webhook-id (a receiver that already has it can drop it), starting at
 * delivery 1. The log reads `pending` before the message is published, so
 * the worker's records of the new series are never older than it; a publish
 * the broker refuses puts the previous state back.
 */

/** Resends published at once by a bulk resend (each waits for its confirm). */
const RESEND_CONCURRENCY = 16;

function resendMessage(subscription: Subscription, delivery: EventDelivery, body: EventBody): EventMessage {
  return {
    v: MESSAGE_VERSION,
    kind: 'event',
    application: subscription.application,
    dueAt: 0,
    body,
    destinations: [
      { kind: 'subscription', id: subscription.id, url: subscription.url, webhookId: delivery.id, delivery: 1 },
    ],
  };
}

async function resend(
  app: FastifyInstance,
  subscription: Subscription,
  delivery: EventDelivery,
  body: EventBody,
): Promise<void> {
  const { application, id } = subscription;
  const previous = (await app.deliveryLog.markPending(application, id, delivery.id)) ?? delivery;
  try {
    await app.jobQueue.publishEvent(resendMessage(subscription, delivery, body));
  } catch (err) {
    await app.deliveryLog.restore(application, id, previous).catch((restoreErr: unknown) => {
      app.log.error({ err: restoreErr, deliveryId: delivery.id }, 'resend not queued and its log entry not restored');
    });
    throw err;
  }
}

/** The subscription of `application`, or SUBSCRIPTION_NOT_FOUND. */
export async function subscriptionOrThrow(
  app: FastifyInstance,
  application: string,
  id: string,
): Promise<Subscription> {
  const subscription = await app.subscriptions.get(application, id);
  if (!subscription) throw new RelayError('SUBSCRIPTION_NOT_FOUND', { message: `No subscription ${id}` });
  return subscription;
}

/**
 * The subscription, which must be enabled: the worker drops the events of a
 * disabled one (it asked to get nothing more), so a resend accepted with 202
 * would never be sent, and its log entry would stay pending.
 */
async function enabledSubscriptionOrThrow(
  app: FastifyInstance,
  application: string,
  id: string,
): Promise<Subscription> {
  const subscription = await subscriptionOrThrow(app, application, id);
  if (!subscription.enabled) {
    throw new RelayError('SUBSCRIPTION_DISABLED', {
      message: `Subscription ${id} is disabled; enable it (PATCH with \`enabled: true\`) before resending`,
    });
  }
  return subscription;
}

export async function resendOne(
  app: FastifyInstance,
  application: string,
  subscriptionId: string,
  deliveryId: string,
): Promise<void> {
  const subscription = await enabledSubscriptionOrThrow(app, application, subscriptionId);
  const found = await app.deliveryLog.get(application, subscriptionId, deliveryId);
  if (!found) throw new RelayError('DELIVERY_NOT_FOUND', { message: `No delivery ${deliveryId} in this log` });
  await resend(app, subscription, found.delivery, found.body);
}

/**
 * Resends the subscription's deliveries of `status` first recorded at or
 * after `sinceMs`, at most `max`. A failed publish stops the call: what was
 * resent stays resent, the error answers (a retry picks up the rest, since
 * the resent ones are no longer `failed`).
 */
export async function resendSince(
  app: FastifyInstance,
  application: string,
  subscriptionId: string,
  query: { sinceMs: number; status: 'failed'; max: number },
): Promise<{ resent: number; more: boolean }> {
  const subscription = await enabledSubscriptionOrThrow(app, application, subscriptionId);
  const { found, more } = await app.deliveryLog.since(application, subscriptionId, query);
  let resent = 0;
  for (let i = 0; i < found.length; i += RESEND_CONCURRENCY) {
    const batch = found.slice(i, i + RESEND_CONCURRENCY);
    await Promise.all(batch.map(({ delivery, body }) => resend(app, subscription, delivery, body)));
    resent += batch.length;
  }
  return { resent, more };
}
