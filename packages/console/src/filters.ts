import { JOB_STATUSES, type JobStatus } from './api-types.js';

/**
 * The job filter as the console's URL holds it: the same query parameters as
 * GET /api/jobs (`status` repeated, `metadata.<key>=<value>`, `targetHost`,
 * `createdAfter`, `createdBefore`), so a console URL and an API URL say the
 * same thing. Pure: parsing and printing only.
 */
export interface JobFilterForm {
  statuses: JobStatus[];
  /** `key=value` pairs separated by commas or new lines, as typed. */
  metadata: string;
  targetHost: string;
  /** `datetime-local` values (local time, no zone), converted to ISO for the API. */
  createdAfter: string;
  createdBefore: string;
}

export function formFromQuery(query: URLSearchParams): JobFilterForm {
  const metadata: string[] = [];
  for (const [key, value] of query) if (key.startsWith('metadata.')) metadata.push(`${key.slice(9)}=${value}`);
  return {
    statuses: query.getAll('status').filter((s): s is JobStatus => (JOB_STATUSES as string[]).includes(s)),
    metadata: metadata.join(', '),
    targetHost: query.get('targetHost') ?? '',
    createdAfter: toLocalInput(query.get('createdAfter')),
    createdBefore: toLocalInput(query.get('createdBefore')),
  };
}

/** Parses `a=1, b=2` into pairs; returns the first malformed entry as an error. */
export function parseMetadata(text: string): { pairs: [string, string][]; error: string | null } {
  const pairs: [string, string][] = [];
  for (const raw of text.split(/[,\n]/)) {
    const entry = raw.trim();
    if (!entry) continue;
    const eq = entry.indexOf('=');
    if (eq <= 0) return { pairs, error: `"${entry}" is not key=value` };
    pairs.push([entry.slice(0, eq).trim(), entry.slice(eq + 1).trim()]);
  }
  return { pairs, error: null };
}

/** The query parameters of a filter (no cursor, no limit). */
export function queryFromForm(form: JobFilterForm): URLSearchParams {
  const q = new URLSearchParams();
  for (const s of form.statuses) q.append('status', s);
  for (const [k, v] of parseMetadata(form.metadata).pairs) q.append(`metadata.${k}`, v);
  if (form.targetHost.trim()) q.set('targetHost', form.targetHost.trim());
  const after = fromLocalInput(form.createdAfter);
  const before = fromLocalInput(form.createdBefore);
  if (after) q.set('createdAfter', after);
  if (before) q.set('createdBefore', before);
  return q;
}

/** The body of POST /api/dead-letters/replay for the same filter. */
export function replayBodyFromQuery(query: URLSearchParams, limit: number): Record<string, unknown> {
  const body: Record<string, unknown> = { limit };
  const metadata: Record<string, string> = {};
  for (const [key, value] of query) {
    if (key.startsWith('metadata.')) metadata[key.slice(9)] = value;
    else if (key === 'targetHost' || key === 'createdAfter' || key === 'createdBefore') body[key] = value;
  }
  if (Object.keys(metadata).length) body.metadata = metadata;
  return body;
}

function toLocalInput(iso: string | null): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const local = new Date(d.getTime() - d.getTimezoneOffset() * 60_000);
  return local.toISOString().slice(0, 16);
}

function fromLocalInput(value: string): string | null {
  if (!value) return null;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}
