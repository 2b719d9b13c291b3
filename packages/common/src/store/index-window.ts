/** How long index entries are kept, and how often the scripts trim them. */

/**
 * One script call in this many that adds to an index also trims it (of
 * entries older than the index window): enough to keep every index within its
 * window plus a few dozen stale entries, which listings skip anyway, without
 * a range delete per index per write.
 */
export const TRIM_EVERY = 50;

/**
 * The most an index entry outlives the job's TTL before it is trimmed: the
 * TTL again, at most a day. Entries are scored by creation (dead letters by
 * dead-lettering) while a job lives a TTL after its last write, so a job
 * still being written to more than this long after its creation can drop out
 * of listings early; it is still read by its id.
 */
export function indexSlackSeconds(ttlSeconds: number): number {
  return Math.min(ttlSeconds, 86_400);
}
