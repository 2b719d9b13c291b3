import { PRIORITY_ORDER, type PriorityLevel } from '@relay/common';

/**
 * Which priority level the next free slot of a worker goes to, on a quorum
 * topology where each level has its own work queue (quorum queues have no
 * x-max-priority). Pure: the consumer keeps the state and the counts.
 *
 * Stride scheduling: each level has a "pass" in virtual time that grows by its
 * stride every time it is picked, and the waiting level with the lowest pass
 * goes next (ties to the higher level). With every level backlogged, high
 * gets STRIDES.low / STRIDES.high times the slots of low, and low still gets
 * its share: it is never starved. A level that had nothing waiting does not
 * bank credit for the idle time (its pass is lifted to the clock when it
 * comes back), and it then ties with the clock, so a high-priority message
 * that arrives while only lows are backlogged takes the very next slot.
 */

/**
 * Virtual time one pick costs each level. Under full backlog, per 8 units:
 * 8 high, 4 normal, 1 low (62% / 31% / 8% of the slots).
 */
export const STRIDES: Readonly<Record<PriorityLevel, number>> = { high: 1, normal: 2, low: 8 };

export interface StrideState {
  /** The pass of the last pick: a level coming back from idle starts here. */
  clock: number;
  pass: Record<PriorityLevel, number>;
}

export function initialStrideState(): StrideState {
  return { clock: 0, pass: { high: 0, normal: 0, low: 0 } };
}

/**
 * The level to start next given how many messages wait per level, and the
 * state after that pick; null when nothing waits (state unchanged).
 */
export function pickLevel(
  waiting: Readonly<Record<PriorityLevel, number>>,
  state: StrideState,
): { level: PriorityLevel; state: StrideState } | null {
  let best: PriorityLevel | null = null;
  let bestPass = Number.POSITIVE_INFINITY;
  // Highest first, and strictly lower to replace: a tie goes to the higher level.
  for (const level of PRIORITY_ORDER) {
    if (waiting[level] <= 0) continue;
    const pass = Math.max(state.pass[level], state.clock);
    if (pass < bestPass) {
      best = level;
      bestPass = pass;
    }
  }
  if (best === null) return null;
  return {
    level: best,
    state: { clock: bestPass, pass: { ...state.pass, [best]: bestPass + STRIDES[best] } },
  };
}
