import { describe, expect, it } from 'vitest';
import { frameAtOrAfter, MAX_RATE_GAP_MS, snapshotAt, type Frame } from '../../src/console/frames.js';
import { zeroTotals, type Totals } from '../../src/console/snapshot-math.js';

const t = (over: Partial<Totals>): Totals => ({ ...zeroTotals(), ...over });
const none = { p50: null, p90: null, p99: null };

function frame(at: number, byApp: Record<string, Partial<Totals>>): Frame {
  return {
    at,
    totals: new Map(Object.entries(byApp).map(([id, v]) => [id, t(v)])),
    latency: { all: { p50: 5, p90: 10, p99: 20 }, byApplication: new Map([['a', { p50: 1, p90: 2, p99: 5 }]]) },
    queues: { work: 1, delayed: 2, deadLetters: 3 },
    workers: [],
  };
}

describe('snapshotAt', () => {
  const frames = [
    frame(0, { a: { accepted: 1 }, b: {} }),
    frame(1000, { a: { accepted: 3 }, b: { accepted: 10, failed: 1 } }),
  ];

  it('scopes totals, rates, latency and top lists to the view', () => {
    const all = snapshotAt(frames, 1, { kind: 'all' }, { destinations: [] });
    expect(all.totals).toEqual(t({ accepted: 13, failed: 1 }));
    expect(all.rates.accepted).toBe(12);
    expect(all.latencyMs).toEqual({ p50: 5, p90: 10, p99: 20 });
    expect(all.top.applications.map((r) => r.id)).toEqual(['b', 'a']);

    const a = snapshotAt(
      frames,
      1,
      { kind: 'application', id: 'a' },
      {
        destinations: [
          { application: 'a', host: 'x.test', completed: 1, failed: 0 },
          { application: 'b', host: 'y.test', completed: 9, failed: 0 },
        ],
      },
    );
    expect(a.totals).toEqual(t({ accepted: 3 }));
    expect(a.rates.accepted).toBe(2);
    expect(a.latencyMs).toEqual({ p50: 1, p90: 2, p99: 5 });
    expect(a.top).toEqual({
      applications: [{ id: 'a', accepted: 2, failed: 0 }],
      destinations: [{ host: 'x.test', completed: 1, failed: 0 }],
    });
    expect(snapshotAt(frames, 1, { kind: 'application', id: 'b' }).latencyMs).toEqual(none);
  });

  it('has zero rates for the first frame and across a gap, and empty top lists in history', () => {
    expect(snapshotAt(frames, 0, { kind: 'all' }).rates.accepted).toBe(0);
    const gap = [frames[0]!, frame(MAX_RATE_GAP_MS + 1, { a: { accepted: 100 } })];
    expect(snapshotAt(gap, 1, { kind: 'all' }).rates.accepted).toBe(0);
    expect(snapshotAt(frames, 1, { kind: 'all' }).top).toEqual({ applications: [], destinations: [] });
  });
});

describe('frameAtOrAfter', () => {
  it('finds the oldest frame at or after a time', () => {
    const frames = [frame(0, {}), frame(1000, {}), frame(2000, {})];
    expect(frameAtOrAfter(frames, 500)!.at).toBe(1000);
    expect(frameAtOrAfter(frames, -1)!.at).toBe(0);
    expect(frameAtOrAfter(frames, 2000)!.at).toBe(2000);
    expect(frameAtOrAfter(frames, 2001)).toBeNull();
  });
});
