/**
 * When a lost RabbitMQ channel or connection is tried again, and on which
 * node: pure, so every branch is unit-tested (connectAmqp in connection.ts
 * does the I/O).
 */

/** First wait before reopening a channel the broker closed; doubles per failed try up to the maximum. */
export const CHANNEL_REOPEN_MIN_MS = 100;
export const CHANNEL_REOPEN_MAX_MS = 5000;
/** First wait before trying a node again after a lost connection; doubles per round over every node, up to the maximum. */
export const RECONNECT_MIN_MS = 100;
export const RECONNECT_MAX_MS = 2000;
/**
 * The wait before try number `attempt` (1-based) of reopening a channel:
 * doubling from the minimum, capped, with up to 20% taken off at random so
 * that many processes whose channels closed together do not retry in step.
 */
export function channelReopenDelay(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(CHANNEL_REOPEN_MAX_MS, CHANNEL_REOPEN_MIN_MS * 2 ** Math.max(0, attempt - 1));
  return Math.round(base * (1 - 0.2 * random()));
}

/**
 * Which node reconnection try number `attempt` (1-based) goes to, and how
 * long it waits first, after the connection to node `lostIndex` of `count`
 * was lost. Pure. The first try goes to the next node, not the lost one: a
 * node that dropped its clients is usually stopping, and any node serves
 * every queue of the cluster. Tries go round the nodes in order; each full
 * round without success doubles the wait, from RECONNECT_MIN_MS up to
 * RECONNECT_MAX_MS, less up to 20% at random so that many clients that lost
 * the same node do not come back in step.
 */
export function reconnectPlan(
  attempt: number,
  lostIndex: number,
  count: number,
  random: () => number = Math.random,
): { index: number; delayMs: number } {
  const n = Math.max(1, Math.floor(attempt));
  const nodes = Math.max(1, Math.floor(count));
  const round = Math.floor((n - 1) / nodes);
  const base = Math.min(RECONNECT_MAX_MS, RECONNECT_MIN_MS * 2 ** Math.min(round, 16));
  return { index: (lostIndex + n) % nodes, delayMs: Math.round(base * (1 - 0.2 * random())) };
}
