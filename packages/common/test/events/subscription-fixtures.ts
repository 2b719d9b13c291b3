import type { Subscription, SubscriptionFilters } from '../../src/events/subscription-schema.js';

/** A stored-shaped subscription for the pure tests and the bench (no Redis). */
export function subscription(
  n: number,
  events: Subscription['events'],
  filters: SubscriptionFilters = {},
  enabled = true,
): Subscription {
  const id = `sub_${n.toString(16).padStart(24, '0')}`;
  const at = new Date(1_700_000_000_000 + n).toISOString();
  return {
    id,
    application: 'app',
    name: `s${n}`,
    url: `http://127.0.0.1:9/s${n}`,
    events,
    filters,
    headers: {},
    enabled,
    disabledReason: enabled ? null : 'manual',
    disabledAt: enabled ? null : at,
    failingSince: null,
    createdAt: at,
    updatedAt: at,
  };
}
