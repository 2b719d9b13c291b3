import { describe, expect, it } from 'vitest';
import type { PriorityLevel } from '@relay/common';
import { initialStrideState, pickLevel, STRIDES, type StrideState } from '../../src/priority/stride-picker.js';

type Counts = Record<PriorityLevel, number>;

/** Picks `n` times from `waiting` (consumed as picked) and counts the picks per level. */
function run(waiting: Counts, n: number, state: StrideState = initialStrideState()) {
  const left = { ...waiting };
  const picks: PriorityLevel[] = [];
  for (let i = 0; i < n; i++) {
    const next = pickLevel(left, state);
    if (!next) break;
    state = next.state;
    left[next.level]--;
    picks.push(next.level);
  }
  const count = (level: PriorityLevel) => picks.filter((p) => p === level).length;
  return { picks, state, counts: { high: count('high'), normal: count('normal'), low: count('low') } };
}

describe('pickLevel', () => {
  it('returns null when nothing waits, and leaves the state alone', () => {
    expect(pickLevel({ high: 0, normal: 0, low: 0 }, initialStrideState())).toBeNull();
  });

  it('picks the only level that has messages', () => {
    for (const level of ['high', 'normal', 'low'] as const) {
      const waiting = { high: 0, normal: 0, low: 0, [level]: 5 };
      expect(run(waiting, 5).picks).toEqual([level, level, level, level, level]);
    }
  });

  it('under a backlog on every level, shares slots 8 : 4 : 1 (by STRIDES), low never starved', () => {
    const { counts } = run({ high: 10_000, normal: 10_000, low: 10_000 }, 1300);
    expect(counts).toEqual({ high: 800, normal: 400, low: 100 });
    expect(STRIDES.low / STRIDES.high).toBe(8);
  });

  it('gives low a slot within every 13 picks however long the high backlog', () => {
    const { picks } = run({ high: 100_000, normal: 100_000, low: 100_000 }, 5000);
    let sinceLow = 0;
    for (const p of picks) {
      sinceLow = p === 'low' ? 0 : sinceLow + 1;
      expect(sinceLow).toBeLessThan(13);
    }
  });

  it('a high message arriving behind a long low backlog takes the very next slot', () => {
    const { state } = run({ high: 0, normal: 0, low: 1_000 }, 700);
    const next = pickLevel({ high: 1, normal: 0, low: 300 }, state);
    expect(next?.level).toBe('high');
  });

  it('a level idle for a while banks no credit: it gets its share, not a burst', () => {
    // Lows alone for a long time, then highs and lows together.
    const { state } = run({ high: 0, normal: 0, low: 10_000 }, 5000);
    const { counts } = run({ high: 10_000, normal: 0, low: 10_000 }, 90, state);
    // 8 : 1 from the first pick on: 80 high, 10 low (within one of the ideal share).
    expect(Math.abs(counts.high - 80)).toBeLessThanOrEqual(1);
    expect(Math.abs(counts.low - 10)).toBeLessThanOrEqual(1);
  });

  it('breaks ties towards the higher level', () => {
    expect(pickLevel({ high: 1, normal: 1, low: 1 }, initialStrideState())?.level).toBe('high');
    expect(pickLevel({ high: 0, normal: 1, low: 1 }, initialStrideState())?.level).toBe('normal');
  });
});
