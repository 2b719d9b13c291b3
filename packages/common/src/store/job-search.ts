import type { JobStatus } from '../status.js';
import type { JobStore } from './job-store.js';
import { execAll, onRedis } from './redis-exec.js';

/**
 * Listing and search over the sorted-set indexes (never a keyspace SCAN).
 *
 * One index drives the walk, newest first: the most selective of the
 * metadata, host and status indexes that apply (by ZCOUNT over the time
 * range), or the index of all jobs. The other filters are checked on each
 * candidate's listed hash fields (job-fields.ts: never its spec), fetched in
 * pipelined batches. Entries whose job has
 * expired are skipped and removed from the driving index. A failure of
 * Redis throws ServiceUnavailableError (redis-exec.ts).
 */

export interface JobFilter {
  statuses?: JobStatus[];
  /** All must match. */
  metadata?: Record<string, string>;
  targetHost?: string;
  /** Epoch ms, inclusive. */
  createdAfter?: number;
  createdBefore?: number;
  /** Only dead-lettered jobs, ordered by when they were dead-lettered. */
  deadLettered?: boolean;
}

/** Where the previous page ended: score and id of its last item. */
export interface Cursor {
  s: number;
  id: string;
}

export function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify(c)).toString('base64url');
}

/** Null when the string is not a cursor this server made. */
export function decodeCursor(raw: string): Cursor | null {
  try {
    const c = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as Cursor;
    return typeof c.s === 'number' && typeof c.id === 'string' ? c : null;
  } catch {
    return null;
  }
}

export interface SearchPage {
  /** Raw job hashes with their ids, newest first. */
  items: { jobId: string; job: Record<string, string> }[];
  nextCursor: string | null;
}

/**
 * Most candidates examined for one page. A very unselective combination of
 * filters returns a short (possibly empty) page with a cursor to go on from,
 * instead of scanning without bound.
 */
export const MAX_CANDIDATES_PER_PAGE = 10_000;
const BATCH = 200;

function matches(job: Record<string, string>, filter: JobFilter): boolean {
  if (filter.statuses?.length && !filter.statuses.includes(job.status as JobStatus)) return false;
  if (filter.targetHost && job.host !== filter.targetHost.toLowerCase()) return false;
  if (filter.metadata) {
    const meta = job.metadata ? (JSON.parse(job.metadata) as Record<string, string>) : {};
    for (const [k, v] of Object.entries(filter.metadata)) if (meta[k] !== v) return false;
  }
  if (filter.deadLettered && !job.deadLetteredAt) return false;
  const created = Number(job.createdAtMs);
  if (filter.createdAfter !== undefined && created < filter.createdAfter) return false;
  if (filter.createdBefore !== undefined && created > filter.createdBefore) return false;
  return true;
}

async function chooseDriver(store: JobStore, filter: JobFilter): Promise<{ key: string; byCreation: boolean }> {
  const k = store.keys;
  if (filter.deadLettered) return { key: k.indexDead(), byCreation: false };
  const candidates: string[] = [];
  for (const [mk, mv] of Object.entries(filter.metadata ?? {})) candidates.push(k.indexMetadata(mk, mv));
  if (filter.targetHost) candidates.push(k.indexHost(filter.targetHost));
  if (filter.statuses?.length === 1) candidates.push(k.indexStatus(filter.statuses[0]!));
  if (candidates.length === 0) return { key: k.indexAll(), byCreation: true };
  const min = filter.createdAfter ?? '-inf';
  const max = filter.createdBefore ?? '+inf';
  const pipeline = store.redis.pipeline();
  for (const key of candidates) pipeline.zcount(key, min, max);
  const counts = (await execAll(pipeline)) as number[];
  let best = 0;
  counts.forEach((c, i) => {
    if (c < counts[best]!) best = i;
  });
  return { key: candidates[best]!, byCreation: true };
}

export async function searchJobs(
  store: JobStore,
  filter: JobFilter,
  limit: number,
  cursor: Cursor | null,
): Promise<SearchPage> {
  const driver = await chooseDriver(store, filter);
  // The time range bounds the walk only when the driver is scored by creation time.
  let max: number | string = driver.byCreation && filter.createdBefore !== undefined ? filter.createdBefore : '+inf';
  const min: number | string = driver.byCreation && filter.createdAfter !== undefined ? filter.createdAfter : '-inf';
  if (cursor) max = typeof max === 'number' ? Math.min(max, cursor.s) : cursor.s;

  const items: SearchPage['items'] = [];
  let examined = 0;
  let offset = 0;
  let last: Cursor | null = null;
  for (;;) {
    const raw = await onRedis(
      store.redis.zrange(driver.key, max, min, 'BYSCORE', 'REV', 'LIMIT', offset, BATCH, 'WITHSCORES'),
    );
    if (raw.length === 0) return { items, nextCursor: null };
    offset += raw.length / 2;
    const batch: Cursor[] = [];
    for (let i = 0; i < raw.length; i += 2) {
      const c = { id: raw[i]!, s: Number(raw[i + 1]) };
      // Same score as the cursor: members come in descending id order, so
      // everything down to the cursor's id was on an earlier page.
      if (cursor && c.s === cursor.s && c.id >= cursor.id) continue;
      batch.push(c);
    }
    const jobs = await store.getRawMany(batch.map((c) => c.id));
    const expired: string[] = [];
    for (let i = 0; i < batch.length; i++) {
      const job = jobs[i];
      const c = batch[i]!;
      examined++;
      last = c;
      if (!job) expired.push(c.id);
      else if (matches(job, filter)) {
        items.push({ jobId: c.id, job });
        if (items.length === limit) {
          if (expired.length) void store.redis.zrem(driver.key, ...expired).catch(() => undefined);
          return { items, nextCursor: encodeCursor(c) };
        }
      }
    }
    if (expired.length) {
      // Removing entries we already passed shifts the rest down by as many.
      await onRedis(store.redis.zrem(driver.key, ...expired));
      offset -= expired.length;
    }
    if (raw.length / 2 < BATCH) return { items, nextCursor: null };
    if (examined >= MAX_CANDIDATES_PER_PAGE && last) return { items, nextCursor: encodeCursor(last) };
  }
}
