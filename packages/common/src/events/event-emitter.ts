import type { JobStatus } from '../status.js';
import { eventSequence, eventWebhookId } from './event-ids.js';
import type { EventBody, EventDestination, EventMessage, Webhooks } from './event-message.js';
import { webhookUrlsFor, type JobEvent } from './event-names.js';
import type { SubscriptionMatcher } from './ports.js';
import type { Subscription } from './subscription-schema.js';
import { MESSAGE_VERSION } from '../messages/types.js';

/**
 * Emission of job lifecycle events (docs/events.md): the backend and the
 * worker call `emit` where a job's state changes, before they ack (or answer)
 * what changed it, so that a crash emits again rather than never. Copies of
 * one event carry the same sequence and webhook-ids (event-ids.ts), which is
 * what lets receivers drop the duplicates that re-emission makes.
 */

/** One state change of a job, as its emitter knows it. */
export interface JobEventInput {
  application: string;
  jobId: string;
  event: JobEvent;
  /**
   * The attempt the event belongs to (started, retrying, completed, failed),
   * or the attempts started before it (cancelled, dead_lettered, replayed);
   * ignored for created. See eventSequence.
   */
  attempt: number;
  /** The job's status after the event. */
  status: JobStatus;
  /** When the state changed (ISO 8601). */
  timestamp: string;
  metadata: Record<string, string>;
  /** Lower-case host of the target URL, without port (jobHost). */
  host: string;
  /** The job's effective webhooks map (the stored one, else the spec's). */
  webhooks: Webhooks | null | undefined;
  /** What the body carries beside the common fields, as fits the event. */
  data?: Pick<EventBody, 'attempt' | 'result' | 'error'>;
}

/** The host subscriptions filter on: lower-case, no port, no IPv6 brackets. Pure. */
export function jobHost(targetUrl: string): string {
  try {
    return new URL(targetUrl).hostname.replace(/^\[|\]$/g, '').toLowerCase();
  } catch {
    return '';
  }
}

/** The body every destination of one event receives. Pure. */
export function eventBody(input: JobEventInput): EventBody {
  return {
    jobId: input.jobId,
    event: input.event,
    status: input.status,
    timestamp: input.timestamp,
    sequence: eventSequence(input.event, input.attempt),
    application: input.application,
    metadata: input.metadata,
    ...input.data,
  };
}

/**
 * The one message of an event to every destination that wants it: the job's
 * own webhook URLs, then the matching subscriptions, each at delivery 1 with
 * its derived webhook-id. Null when nobody wants it: nothing is published.
 * Pure.
 */
export function buildEventMessage(
  input: JobEventInput,
  subscriptions: readonly Pick<Subscription, 'id' | 'url'>[],
): EventMessage | null {
  const sequence = eventSequence(input.event, input.attempt);
  const destinations: EventDestination[] = [
    ...webhookUrlsFor(input.webhooks ?? undefined, input.event).map((url) => ({
      kind: 'webhook' as const,
      id: url,
      url,
      webhookId: eventWebhookId(input.jobId, sequence, `job:${url}`),
      delivery: 1,
    })),
    ...subscriptions.map((s) => ({
      kind: 'subscription' as const,
      id: s.id,
      url: s.url,
      webhookId: eventWebhookId(input.jobId, sequence, `sub:${s.id}`),
      delivery: 1,
    })),
  ];
  if (destinations.length === 0) return null;
  return {
    v: MESSAGE_VERSION,
    kind: 'event',
    application: input.application,
    dueAt: 0,
    body: eventBody(input),
    destinations,
  };
}

/**
 * endpoint.disabled, an application event: `disabled` stopped getting
 * deliveries for failing. Its recipients are the application's other
 * subscriptions that name the event; its webhook-id is derived from the
 * subscription and the time it was disabled, so a copy keeps it. Null when
 * nobody else asks for it. Pure.
 */
export function endpointDisabledMessage(
  application: string,
  disabled: Pick<Subscription, 'id' | 'name' | 'disabledAt' | 'disabledReason'>,
  recipients: readonly Pick<Subscription, 'id' | 'url'>[],
  nowIso: string,
): EventMessage | null {
  const timestamp = disabled.disabledAt ?? nowIso;
  const others = recipients.filter((r) => r.id !== disabled.id);
  if (others.length === 0) return null;
  const episode = `endpoint.disabled:${disabled.id}:${timestamp}`;
  return {
    v: MESSAGE_VERSION,
    kind: 'event',
    application,
    dueAt: 0,
    body: {
      jobId: null,
      event: 'endpoint.disabled',
      status: null,
      timestamp,
      sequence: 0,
      application,
      metadata: {},
      subscription: { id: disabled.id, name: disabled.name, reason: disabled.disabledReason ?? 'endpoint_failing' },
    },
    destinations: others.map((r) => ({
      kind: 'subscription' as const,
      id: r.id,
      url: r.url,
      webhookId: eventWebhookId(episode, 0, `sub:${r.id}`),
      delivery: 1,
    })),
  };
}

/** Publishes one event message to the events queue, resolving on the broker's confirm. */
export type EventPublish = (message: EventMessage) => Promise<void>;

export interface EventEmitterOptions {
  matcher: SubscriptionMatcher;
  publish: EventPublish;
}

/**
 * Finds each event's destinations and publishes one message per event that
 * has any. A job nobody listens to costs a lookup in the in-memory
 * subscription index and no broker message.
 */
export class EventEmitter {
  constructor(private readonly options: EventEmitterOptions) {}

  /** Emits one event; resolves true when a message was published (confirmed). */
  async emit(input: JobEventInput): Promise<boolean> {
    const published = await this.emitAll([input]);
    return published > 0;
  }

  /**
   * Emits several events of one job at once (failed and dead_lettered, say):
   * every match first, then the publishes in the given order on one
   * channel, which the broker keeps, confirmed together. Resolves with the
   * number of messages published.
   */
  async emitAll(inputs: readonly JobEventInput[]): Promise<number> {
    return (await this.prepare(inputs))();
  }

  /**
   * Matches now and returns the publish of what matched, for a caller that
   * must put the events on the channel before another message: the returned
   * function writes every message to the channel before it returns (it
   * resolves on the confirms), and the broker keeps one channel's order. So
   * the backend enqueues `created` (or `replayed`) before the job's message
   * can reach a worker, whose `started` cannot then overtake it.
   */
  async prepare(inputs: readonly JobEventInput[]): Promise<() => Promise<number>> {
    const matched = await Promise.all(
      inputs.map((input) =>
        this.options.matcher.match(input.application, {
          event: input.event,
          metadata: input.metadata,
          host: input.host,
          status: input.status,
        }),
      ),
    );
    const messages = inputs
      .map((input, i) => buildEventMessage(input, matched[i]!))
      .filter((m): m is EventMessage => m !== null);
    return async () => {
      await Promise.all(messages.map((m) => this.options.publish(m)));
      return messages.length;
    };
  }
}

/**
 * Tells the application's other subscriptions that ask for it that
 * `disabled` was disabled. Resolves true when a message was published.
 */
export async function emitEndpointDisabled(
  options: EventEmitterOptions,
  application: string,
  disabled: Subscription,
  nowIso: string,
): Promise<boolean> {
  const recipients = await options.matcher.match(application, {
    event: 'endpoint.disabled',
    metadata: {},
    host: '',
    status: '',
  });
  const message = endpointDisabledMessage(application, disabled, recipients, nowIso);
  if (!message) return false;
  await options.publish(message);
  return true;
}

/** A matcher for a process that has no subscriptions to match (tests, or events without a store). */
export const noSubscriptions: SubscriptionMatcher = { match: async () => [] };
