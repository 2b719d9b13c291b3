import { decodeCursor, RelayError, type Cursor, type JobFilter, type JobStatus } from '@relay/common';

interface FilterInput {
  status?: JobStatus[];
  targetHost?: string;
  createdAfter?: string;
  createdBefore?: string;
  metadata?: Record<string, string>;
}

/** The search filter of a list query or bulk-replay body (already schema-validated). */
export function toFilter(input: FilterInput & Record<string, unknown>): JobFilter {
  const metadata: Record<string, string> = { ...(input.metadata ?? {}) };
  for (const [key, value] of Object.entries(input)) {
    if (key.startsWith('metadata.') && typeof value === 'string') metadata[key.slice('metadata.'.length)] = value;
  }
  const filter: JobFilter = {};
  if (input.status?.length) filter.statuses = input.status;
  if (Object.keys(metadata).length) filter.metadata = metadata;
  if (input.targetHost) filter.targetHost = input.targetHost;
  if (input.createdAfter) filter.createdAfter = Date.parse(input.createdAfter);
  if (input.createdBefore) filter.createdBefore = Date.parse(input.createdBefore);
  return filter;
}

export function parseCursor(raw: string | undefined): Cursor | null {
  if (raw === undefined) return null;
  const cursor = decodeCursor(raw);
  if (!cursor)
    throw new RelayError('INVALID_CURSOR', { details: [{ path: '/querystring/cursor', message: 'is not valid' }] });
  return cursor;
}
