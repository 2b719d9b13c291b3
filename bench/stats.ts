/** Small, pure statistics for the benchmark: no I/O, no clock. */

/**
 * The `p`-th percentile (0–100) of `values`, interpolated linearly between the
 * two nearest ranks (the "R-7" definition, as numpy and spreadsheets use).
 * `NaN` for an empty list.
 */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return percentileOfSorted(sorted, p);
}

export function percentileOfSorted(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (rank - lo);
}

/** Median of the finite values (runs that measured nothing are left out); `NaN` if none. */
export function median(values: readonly number[]): number {
  return percentile(
    values.filter((v) => Number.isFinite(v)),
    50,
  );
}

export interface LatencySummary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export function summarize(latenciesMs: readonly number[]): LatencySummary {
  const sorted = [...latenciesMs].sort((a, b) => a - b);
  return {
    count: sorted.length,
    p50: percentileOfSorted(sorted, 50),
    p90: percentileOfSorted(sorted, 90),
    p99: percentileOfSorted(sorted, 99),
    max: sorted.at(-1) ?? Number.NaN,
  };
}

/**
 * How fast y grows over x (jobs per second, for a backlog sampled over
 * seconds): the median of the later half of the samples minus the median of
 * the earlier half, over the time between the halves' medians. Medians, not
 * a least-squares line, so that one short stall (a GC pause, a burst of
 * another process on a shared machine) does not read as a trend, while a
 * backlog that keeps growing moves both halves apart. 0 for fewer than two
 * samples.
 */
export function growthRate(points: readonly { x: number; y: number }[]): number {
  if (points.length < 2) return 0;
  const sorted = [...points].sort((a, b) => a.x - b.x);
  const half = Math.floor(sorted.length / 2);
  const early = sorted.slice(0, half);
  const late = sorted.slice(sorted.length - half);
  const dx = median(late.map((p) => p.x)) - median(early.map((p) => p.x));
  return dx > 0 ? (median(late.map((p) => p.y)) - median(early.map((p) => p.y))) / dx : 0;
}

/** Rounds for display and JSON: 3 significant digits below 100, integers above. */
export function round(value: number): number {
  if (!Number.isFinite(value)) return value;
  if (Math.abs(value) >= 100) return Math.round(value);
  return Number(value.toPrecision(3));
}
