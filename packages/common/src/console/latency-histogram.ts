/**
 * Latency from submit to final result, as counts per bucket. Workers send
 * histograms rather than samples because histograms of several workers add up
 * exactly (a percentile of percentiles does not), and their size does not
 * grow with the job rate.
 */

/**
 * Upper bounds (ms, inclusive) of the buckets. The spacing is roughly 1-2-5
 * per decade, from one loopback call to an hour of retries; one more bucket
 * past the last bound holds everything slower.
 */
export const LATENCY_BOUNDS_MS = [
  1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 30_000, 60_000, 120_000, 300_000, 600_000, 1_800_000,
  3_600_000,
] as const;

/** Number of counts in a histogram: one per bound plus the overflow bucket. */
export const LATENCY_BUCKETS = LATENCY_BOUNDS_MS.length + 1;

export function emptyHistogram(): number[] {
  return new Array<number>(LATENCY_BUCKETS).fill(0);
}

/** Index of the bucket that holds `ms`. */
export function bucketOf(ms: number): number {
  for (let i = 0; i < LATENCY_BOUNDS_MS.length; i++) if (ms <= LATENCY_BOUNDS_MS[i]!) return i;
  return LATENCY_BOUNDS_MS.length;
}

/** Adds `from` into `into` (same length); a malformed `from` (another layout) is ignored. */
export function addHistogram(into: number[], from: readonly number[]): void {
  if (from.length !== into.length) return;
  for (let i = 0; i < into.length; i++) {
    const n = from[i]!;
    if (Number.isFinite(n) && n > 0) into[i]! += n;
  }
}

/**
 * The q-quantile (0 < q <= 1) of a histogram, as the upper bound of the bucket
 * that holds it: an estimate that errs high, never low, by at most one bucket.
 * The overflow bucket answers with the last bound. Null when empty.
 */
export function quantileOf(histogram: readonly number[], q: number): number | null {
  let total = 0;
  for (const n of histogram) total += n;
  if (total === 0) return null;
  const rank = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (let i = 0; i < histogram.length; i++) {
    seen += histogram[i]!;
    if (seen >= rank) return LATENCY_BOUNDS_MS[Math.min(i, LATENCY_BOUNDS_MS.length - 1)]!;
  }
  return LATENCY_BOUNDS_MS[LATENCY_BOUNDS_MS.length - 1]!;
}
