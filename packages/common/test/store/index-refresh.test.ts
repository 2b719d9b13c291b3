import { describe, expect, it } from 'vitest';
import { IndexRefreshGate } from '../../src/store/index-refresh.js';

describe('IndexRefreshGate', () => {
  it('is due for a key never refreshed, not within the interval, and due again after it', () => {
    const gate = new IndexRefreshGate(60_000);
    expect(gate.due(['a'], 1_000)).toBe(true);
    gate.refreshed(['a'], 1_000);
    expect(gate.due(['a'], 60_999)).toBe(false);
    expect(gate.due(['a'], 61_000)).toBe(true);
  });

  it('is due when any one of the keys is', () => {
    const gate = new IndexRefreshGate(60_000);
    gate.refreshed(['a', 'b'], 0);
    expect(gate.due(['a', 'b'], 10)).toBe(false);
    expect(gate.due(['a', 'c'], 10)).toBe(true);
  });

  it('forgets everything on clear, and when it would track more than 10,000 keys', () => {
    const gate = new IndexRefreshGate(60_000);
    gate.refreshed(['a'], 0);
    gate.clear();
    expect(gate.due(['a'], 1)).toBe(true);
    gate.refreshed(['a'], 0);
    gate.refreshed(
      Array.from({ length: 10_000 }, (_, i) => `k${i}`),
      0,
    );
    expect(gate.due(['a'], 1)).toBe(true);
    expect(gate.due(['k9999'], 1)).toBe(false);
  });
});
