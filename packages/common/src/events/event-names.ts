/**
 * Lifecycle events of a job, and the names a client may use to ask for them.
 * Every event is emitted where the state changes (see docs/events.md):
 * - backend: `created` (the job is on the broker), `cancelled`, `replayed`;
 * - worker: `started` (an attempt took the lease), `retrying` (an attempt
 *   failed, the next is scheduled), `completed`, `failed`, `dead_lettered`.
 * `endpoint.disabled` is an application event: a subscription was disabled
 * for failing (it goes to the application's other subscriptions that ask for it).
 */
export const JOB_EVENTS = [
  'created',
  'started',
  'retrying',
  'completed',
  'failed',
  'cancelled',
  'dead_lettered',
  'replayed',
] as const;
export type JobEvent = (typeof JOB_EVENTS)[number];

export const APPLICATION_EVENTS = ['endpoint.disabled'] as const;
export type ApplicationEvent = (typeof APPLICATION_EVENTS)[number];

export type EventName = JobEvent | ApplicationEvent;
export const EVENT_NAMES: readonly EventName[] = [...JOB_EVENTS, ...APPLICATION_EVENTS];

/**
 * Keys of a job's `webhooks` map: an event, `*` (every job event) or the
 * seed's `progress` (= `started` and `retrying`: a relay job's progress).
 */
export const WEBHOOK_KEYS = [...JOB_EVENTS, 'progress', '*'] as const;
export type WebhookKey = (typeof WEBHOOK_KEYS)[number];

/** The job events a webhook key stands for. Pure. */
export function eventsOfWebhookKey(key: WebhookKey): readonly JobEvent[] {
  if (key === '*') return JOB_EVENTS;
  if (key === 'progress') return ['started', 'retrying'];
  return [key];
}

/**
 * The URLs of a job's webhooks map that want `event`, each once (a URL
 * named under several keys that cover the event gets one delivery). Pure.
 */
export function webhookUrlsFor(webhooks: Partial<Record<WebhookKey, string>> | undefined, event: JobEvent): string[] {
  if (!webhooks) return [];
  const urls = new Set<string>();
  for (const [key, url] of Object.entries(webhooks) as [WebhookKey, string][]) {
    if (url && eventsOfWebhookKey(key).includes(event)) urls.add(url);
  }
  return [...urls];
}
