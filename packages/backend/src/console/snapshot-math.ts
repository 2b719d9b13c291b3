import { addHistogram, emptyHistogram, quantileOf } from '@relay/common';
import type { Snapshot } from '../routes/console/schemas.js';

/**
 * The console's arithmetic, without I/O: sums, rates, percentiles and top
 * lists over the frames the poller records (console/poller.ts).
 */

export type Totals = Snapshot['totals'];
export type Rates = Snapshot['rates'];
export type Latency = Snapshot['latencyMs'];

/** One application's row of one heartbeat: attempts at one host. */
export interface DestinationRow {
  application: string;
  host: string;
  completed: number;
  failed: number;
}

/** How many entries each ranking of a top list keeps. */
export const TOP_N = 5;

export function zeroTotals(): Totals {
  return { accepted: 0, completed: 0, failed: 0, retried: 0, cancelled: 0, deadLettered: 0 };
}

/** The counters the console shows, from a counters hash (store/counters.ts names; absent fields are 0). */
export function totalsOfHash(hash: Readonly<Record<string, string>>): Totals {
  const n = (name: string) => {
    const v = Number(hash[name] ?? 0);
    return Number.isFinite(v) && v > 0 ? v : 0;
  };
  return {
    accepted: n('jobs_created'),
    completed: n('jobs_success'),
    failed: n('jobs_failed'),
    retried: n('jobs_retried'),
    cancelled: n('jobs_cancelled'),
    deadLettered: n('jobs_dlq'),
  };
}

/** The sum of the totals of the applications `inView` admits. */
export function sumTotals(
  byApplication: ReadonlyMap<string, Totals>,
  inView: (application: string) => boolean,
): Totals {
  const sum = zeroTotals();
  for (const [application, totals] of byApplication) {
    if (!inView(application)) continue;
    for (const key of Object.keys(sum) as (keyof Totals)[]) sum[key] += totals[key];
  }
  return sum;
}

/**
 * Events per second between two readings `elapsedMs` apart. A counter that
 * went down (an application deleted, a store emptied) gives 0 rather than a
 * negative rate; no elapsed time gives 0 rather than Infinity.
 */
export function ratesBetween(previous: Totals | null, current: Totals, elapsedMs: number): Rates {
  const rate = (key: keyof Rates) => {
    if (!previous || elapsedMs <= 0) return 0;
    const delta = current[key] - previous[key];
    return delta > 0 ? Math.round((delta * 1000 * 100) / elapsedMs) / 100 : 0;
  };
  return { accepted: rate('accepted'), completed: rate('completed'), failed: rate('failed'), retried: rate('retried') };
}

/** p50, p90 and p99 of the merged histograms of the applications `inView` admits. */
export function latencyOf(
  histograms: ReadonlyMap<string, readonly number[]>,
  inView: (application: string) => boolean,
): Latency {
  const merged = emptyHistogram();
  for (const [application, counts] of histograms) if (inView(application)) addHistogram(merged, counts);
  return { p50: quantileOf(merged, 0.5), p90: quantileOf(merged, 0.9), p99: quantileOf(merged, 0.99) };
}

/**
 * The first `n` of `items` by each of two keys, merged without duplicates:
 * the busiest first, then the most failing that were not already in.
 * Ties go to the name, so that the list does not flicker between readings.
 */
export function topByTwo<T>(
  items: readonly T[],
  name: (item: T) => string,
  busy: (item: T) => number,
  failing: (item: T) => number,
  n = TOP_N,
): T[] {
  const rank = (key: (item: T) => number) =>
    items
      .filter((item) => key(item) > 0)
      .sort((a, b) => key(b) - key(a) || name(a).localeCompare(name(b)))
      .slice(0, n);
  const out = rank(busy);
  const seen = new Set(out.map(name));
  for (const item of rank(failing)) if (!seen.has(name(item))) out.push(item);
  return out;
}

/** Busiest and most failing applications between two readings of per-application totals. */
export function topApplications(
  past: ReadonlyMap<string, Totals> | null,
  current: ReadonlyMap<string, Totals>,
  inView: (application: string) => boolean,
): Snapshot['top']['applications'] {
  const rows: Snapshot['top']['applications'] = [];
  for (const [id, now] of current) {
    if (!inView(id)) continue;
    const then = past?.get(id) ?? zeroTotals();
    rows.push({
      id,
      accepted: Math.max(0, now.accepted - then.accepted),
      failed: Math.max(0, now.failed - then.failed),
    });
  }
  return topByTwo(
    rows,
    (r) => r.id,
    (r) => r.accepted,
    (r) => r.failed,
  );
}

/** Busiest and most failing target hosts, summed over workers and over the applications `inView` admits. */
export function topDestinations(
  rows: readonly DestinationRow[],
  inView: (application: string) => boolean,
): Snapshot['top']['destinations'] {
  const byHost = new Map<string, { host: string; completed: number; failed: number }>();
  for (const row of rows) {
    if (!inView(row.application)) continue;
    const sum = byHost.get(row.host) ?? { host: row.host, completed: 0, failed: 0 };
    sum.completed += row.completed;
    sum.failed += row.failed;
    byHost.set(row.host, sum);
  }
  return topByTwo(
    [...byHost.values()],
    (r) => r.host,
    (r) => r.completed + r.failed,
    (r) => r.failed,
  );
}
