import type { EventMessage, Logger } from '@relay/common';
import { deliverEvent } from './deliver-event.js';
import type { EventDeps } from './event-deps.js';
import { chainKey } from './event-request.js';
import type { KeyedChain } from './keyed-chain.js';

/** Handling failures of one event message before it is dropped (its deliveries are then lost). */
export const EVENT_MAX_HANDLING_FAILURES = 5;

/** A failed message is tried again after this long, doubled per failure. */
const EVENT_DEFER_MS = 1000;

/**
 * Delivers an event message to each of its destinations at once, each
 * chained behind the earlier deliveries of the same job to the same
 * destination (so a receiver gets one job's events in order). Resolves with
 * the destinations whose handling threw (Redis or the broker down): those
 * alone go back on the broker.
 */
export async function processEvent(
  deps: EventDeps,
  chain: KeyedChain,
  message: EventMessage,
  log: Logger,
): Promise<{ failed: EventMessage['destinations']; errors: unknown[] }> {
  const settled = await Promise.allSettled(
    message.destinations.map((destination) =>
      chain.run(chainKey(message, destination), () => deliverEvent(deps, message, destination, log)),
    ),
  );
  const failed: EventMessage['destinations'] = [];
  const errors: unknown[] = [];
  settled.forEach((s, i) => {
    if (s.status === 'rejected') {
      failed.push(message.destinations[i]!);
      errors.push(s.reason);
    }
  });
  return { failed, errors };
}

/**
 * The copy of a message whose handling failed for `failed` destinations, or
 * null when it has failed too often and is dropped. Pure.
 */
export function deferredEvent(
  message: EventMessage,
  failed: EventMessage['destinations'],
  nowMs: number,
): EventMessage | null {
  const count = (message.failures?.count ?? 0) + 1;
  if (count >= EVENT_MAX_HANDLING_FAILURES) return null;
  return {
    ...message,
    destinations: failed,
    failures: { step: 1, count },
    dueAt: nowMs + EVENT_DEFER_MS * 2 ** (count - 1),
  };
}
