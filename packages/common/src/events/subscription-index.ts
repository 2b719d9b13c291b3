import { JOB_EVENTS, type EventName } from './event-names.js';
import type { EventSubject } from './ports.js';
import type { Subscription } from './subscription-schema.js';

/**
 * Which enabled subscriptions want an event, without looking at every
 * subscription. Pure.
 *
 * Subscriptions are bucketed by event (`*` stands for every job event, so
 * such a subscription sits in each job event's bucket; endpoint.disabled must
 * be named), then within an event by ONE filter key: a subscription filtered
 * on metadata sits in the bucket of one of its (key, value) pairs (the first
 * key in sorted order), one filtered on host alone in its host's bucket, one
 * with neither in the unfiltered bucket. A subscription whose filters hold
 * must find its pair among the job's metadata (or its host be the job's), so
 * matching looks up the buckets of the job's own pairs, of its host and the
 * unfiltered one, at most 18 lookups (MetadataLimits.maxKeys + 2), then
 * checks every filter of the few candidates. A subscription is in one bucket
 * per event, so no candidate comes twice.
 */

interface EventBuckets {
  /** `key=value` (metadata keys cannot hold '=') -> subscriptions bucketed on that pair. */
  byMetadata: Map<string, Subscription[]>;
  /** Lower-case host -> subscriptions filtered on host but not on metadata. */
  byHost: Map<string, Subscription[]>;
  unfiltered: Subscription[];
}

function push(map: Map<string, Subscription[]>, key: string, subscription: Subscription): void {
  const list = map.get(key);
  if (list) list.push(subscription);
  else map.set(key, [subscription]);
}

export interface SubscriptionIndex {
  /** Enabled subscriptions in the index. */
  readonly size: number;
  /**
   * The subscriptions that want the event, in creation order. For an
   * application event (endpoint.disabled) the job filters do not apply: every
   * subscription that names it gets it.
   */
  match(subject: EventSubject): Subscription[];
}

function pairKey(key: string, value: string): string {
  return `${key}=${value}`;
}

/** The events a subscription's list stands for. */
function eventsOf(subscription: Subscription): Set<EventName> {
  const events = new Set<EventName>();
  for (const event of subscription.events) {
    if (event === '*') for (const e of JOB_EVENTS) events.add(e);
    else events.add(event);
  }
  return events;
}

/** Whether every filter of `subscription` holds for `subject` (event aside). Pure. */
export function filtersHold(subscription: Subscription, subject: EventSubject): boolean {
  const { metadata, host, status } = subscription.filters;
  if (metadata) {
    for (const [key, value] of Object.entries(metadata)) if (subject.metadata[key] !== value) return false;
  }
  if (host !== undefined && host.toLowerCase() !== subject.host.toLowerCase()) return false;
  if (status !== undefined && !status.includes(subject.status as (typeof status)[number])) return false;
  return true;
}

function isApplicationEvent(event: EventName): boolean {
  return !(JOB_EVENTS as readonly string[]).includes(event);
}

/**
 * The reference rule, by looking at every subscription: enabled, wants the
 * event, and (for a job event) every filter holds. The index must answer the
 * same (subscription-index tests, bench/subscription-match.ts). Pure.
 */
export function matchesSubscription(subscription: Subscription, subject: EventSubject): boolean {
  if (!subscription.enabled) return false;
  const application = isApplicationEvent(subject.event);
  const wanted = subscription.events.includes(subject.event) || (!application && subscription.events.includes('*'));
  return wanted && (application || filtersHold(subscription, subject));
}

export function buildSubscriptionIndex(subscriptions: readonly Subscription[]): SubscriptionIndex {
  const order = new Map<Subscription, number>();
  const buckets = new Map<EventName, EventBuckets>();
  for (const subscription of subscriptions) {
    if (!subscription.enabled) continue;
    order.set(subscription, order.size);
    const metadata = subscription.filters.metadata ?? {};
    const firstKey = Object.keys(metadata).sort()[0];
    const host = subscription.filters.host?.toLowerCase();
    for (const event of eventsOf(subscription)) {
      let bucket = buckets.get(event);
      if (!bucket) buckets.set(event, (bucket = { byMetadata: new Map(), byHost: new Map(), unfiltered: [] }));
      if (isApplicationEvent(event)) bucket.unfiltered.push(subscription);
      else if (firstKey !== undefined) push(bucket.byMetadata, pairKey(firstKey, metadata[firstKey]!), subscription);
      else if (host !== undefined) push(bucket.byHost, host, subscription);
      else bucket.unfiltered.push(subscription);
    }
  }

  return {
    size: order.size,
    match(subject) {
      const bucket = buckets.get(subject.event);
      if (!bucket) return [];
      if (isApplicationEvent(subject.event)) return [...bucket.unfiltered];
      const found: Subscription[] = [];
      for (const s of bucket.unfiltered) if (filtersHold(s, subject)) found.push(s);
      const byHost = bucket.byHost.get(subject.host.toLowerCase());
      if (byHost) for (const s of byHost) if (filtersHold(s, subject)) found.push(s);
      if (bucket.byMetadata.size > 0) {
        for (const [key, value] of Object.entries(subject.metadata)) {
          const candidates = bucket.byMetadata.get(pairKey(key, value));
          if (candidates) for (const s of candidates) if (filtersHold(s, subject)) found.push(s);
        }
      }
      // Creation order whatever bucket a subscription came from.
      return found.length > 1 ? found.sort((a, b) => order.get(a)! - order.get(b)!) : found;
    },
  };
}
