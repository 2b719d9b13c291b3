import { describe, expect, it } from 'vitest';
import { bucketOf, HEARTBEAT_MAX_ROWS } from '@relay/common';
import { ActivityWindow } from '../../src/heartbeat/activity-window.js';

describe('ActivityWindow', () => {
  it('sums attempts by application and host, and latency by application', () => {
    let t = 1_000_000;
    const w = new ActivityWindow(() => t);
    w.attempt('a', 'x.test', true);
    w.attempt('a', 'x.test', false);
    t += 1500;
    w.attempt('a', 'x.test', true);
    w.attempt('b', 'x.test', false);
    w.finished('a', 3);
    w.finished('a', 400);
    const read = w.read();
    expect(read.destinations).toEqual([
      { application: 'a', host: 'x.test', completed: 2, failed: 1 },
      { application: 'b', host: 'x.test', completed: 0, failed: 1 },
    ]);
    const counts = read.latency.find((l) => l.application === 'a')!.counts;
    expect(counts[bucketOf(3)]).toBe(1);
    expect(counts[bucketOf(400)]).toBe(1);
    expect(counts.reduce((s, n) => s + n, 0)).toBe(2);
  });

  it('forgets what is older than the window, and reuses slots round the clock', () => {
    let t = 5_000_000;
    const w = new ActivityWindow(() => t);
    w.attempt('a', 'x.test', true);
    w.finished('a', 10);
    t += 59_000;
    expect(w.read().destinations).toHaveLength(1);
    t += 1000;
    expect(w.read()).toEqual({ destinations: [], latency: [] });
    // The same slot a minute later starts from zero.
    w.attempt('a', 'x.test', false);
    expect(w.read().destinations).toEqual([{ application: 'a', host: 'x.test', completed: 0, failed: 1 }]);
  });

  it('ignores latencies that are not a time (clock step, unreadable createdAt)', () => {
    const w = new ActivityWindow(() => 0);
    w.finished('a', -5);
    w.finished('a', Number.NaN);
    expect(w.read().latency).toEqual([]);
  });

  it('reports at most HEARTBEAT_MAX_ROWS rows, the busiest', () => {
    const w = new ActivityWindow(() => 0);
    for (let i = 0; i < HEARTBEAT_MAX_ROWS + 20; i++) w.attempt('a', `h${i}.test`, true);
    for (let i = 0; i < 5; i++) w.attempt('a', 'busy.test', false);
    const rows = w.read().destinations;
    expect(rows).toHaveLength(HEARTBEAT_MAX_ROWS);
    expect(rows[0]).toEqual({ application: 'a', host: 'busy.test', completed: 0, failed: 5 });
  });
});
