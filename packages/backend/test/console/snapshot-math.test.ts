import { describe, expect, it } from 'vitest';
import { bucketOf, emptyHistogram, LATENCY_BOUNDS_MS, quantileOf } from '@relay/common';
import {
  latencyOf,
  ratesBetween,
  sumTotals,
  topApplications,
  topByTwo,
  topDestinations,
  totalsOfHash,
  zeroTotals,
  type Totals,
} from '../../src/console/snapshot-math.js';

const totals = (over: Partial<Totals>): Totals => ({ ...zeroTotals(), ...over });

describe('totalsOfHash', () => {
  it('maps the counters hash to the console names; missing or junk fields are 0', () => {
    expect(
      totalsOfHash({
        jobs_created: '7',
        jobs_success: '5',
        jobs_failed: '1',
        jobs_retried: '2',
        jobs_dlq: 'x',
        jobs_cancelled: '-3',
      }),
    ).toEqual({ accepted: 7, completed: 5, failed: 1, retried: 2, cancelled: 0, deadLettered: 0 });
  });
});

describe('sumTotals', () => {
  it('adds the applications in view only', () => {
    const by = new Map([
      ['a', totals({ accepted: 2, failed: 1 })],
      ['b', totals({ accepted: 3 })],
    ]);
    expect(sumTotals(by, () => true)).toEqual(totals({ accepted: 5, failed: 1 }));
    expect(sumTotals(by, (id) => id === 'b')).toEqual(totals({ accepted: 3 }));
  });
});

describe('ratesBetween', () => {
  it('is the per-second delta', () => {
    expect(ratesBetween(totals({ accepted: 10 }), totals({ accepted: 25, completed: 3 }), 1500)).toEqual({
      accepted: 10,
      completed: 2,
      failed: 0,
      retried: 0,
    });
  });
  it('is 0 without a previous reading, with no elapsed time, or when a counter went down', () => {
    const zero = { accepted: 0, completed: 0, failed: 0, retried: 0 };
    expect(ratesBetween(null, totals({ accepted: 5 }), 1000)).toEqual(zero);
    expect(ratesBetween(totals({}), totals({ accepted: 5 }), 0)).toEqual(zero);
    expect(ratesBetween(totals({ accepted: 9 }), totals({ accepted: 5 }), 1000)).toEqual(zero);
  });
});

describe('quantileOf and latencyOf', () => {
  it('answers the upper bound of the bucket holding the rank, null when empty', () => {
    const h = emptyHistogram();
    expect(quantileOf(h, 0.5)).toBeNull();
    for (let i = 0; i < 90; i++) h[bucketOf(3)]!++;
    for (let i = 0; i < 9; i++) h[bucketOf(150)]!++;
    h[bucketOf(10 ** 9)]!++;
    expect(quantileOf(h, 0.5)).toBe(5);
    expect(quantileOf(h, 0.9)).toBe(5);
    expect(quantileOf(h, 0.99)).toBe(200);
    expect(quantileOf(h, 1)).toBe(LATENCY_BOUNDS_MS.at(-1));
  });
  it('merges the histograms of the applications in view', () => {
    const a = emptyHistogram();
    a[bucketOf(1)] = 10;
    const b = emptyHistogram();
    b[bucketOf(1000)] = 30;
    const by = new Map([
      ['a', a],
      ['b', b],
    ]);
    expect(latencyOf(by, () => true)).toEqual({ p50: 1000, p90: 1000, p99: 1000 });
    expect(latencyOf(by, (id) => id === 'a')).toEqual({ p50: 1, p90: 1, p99: 1 });
    expect(latencyOf(by, () => false)).toEqual({ p50: null, p90: null, p99: null });
  });
});

describe('top lists', () => {
  it('merges the busiest and the most failing without duplicates, leaving out idle ones', () => {
    const rows = Array.from({ length: 8 }, (_, i) => ({ id: `a${i}`, busy: 10 - i, failing: i === 7 ? 50 : 0 }));
    rows.push({ id: 'idle', busy: 0, failing: 0 });
    const top = topByTwo(
      rows,
      (r) => r.id,
      (r) => r.busy,
      (r) => r.failing,
      5,
    );
    expect(top.map((r) => r.id)).toEqual(['a0', 'a1', 'a2', 'a3', 'a4', 'a7']);
  });

  it('counts applications over the span, in view only', () => {
    const past = new Map([['a', totals({ accepted: 10, failed: 2 })]]);
    const now = new Map([
      ['a', totals({ accepted: 15, failed: 2 })],
      ['b', totals({ accepted: 1, failed: 1 })],
    ]);
    expect(topApplications(past, now, () => true)).toEqual([
      { id: 'a', accepted: 5, failed: 0 },
      { id: 'b', accepted: 1, failed: 1 },
    ]);
    expect(topApplications(past, now, (id) => id === 'b')).toEqual([{ id: 'b', accepted: 1, failed: 1 }]);
  });

  it('sums destinations over workers and applications in view', () => {
    const rows = [
      { application: 'a', host: 'x.test', completed: 3, failed: 1 },
      { application: 'b', host: 'x.test', completed: 2, failed: 0 },
      { application: 'b', host: 'y.test', completed: 0, failed: 4 },
    ];
    expect(topDestinations(rows, () => true)).toEqual([
      { host: 'x.test', completed: 5, failed: 1 },
      { host: 'y.test', completed: 0, failed: 4 },
    ]);
    expect(topDestinations(rows, (id) => id === 'a')).toEqual([{ host: 'x.test', completed: 3, failed: 1 }]);
  });
});
