/**
 * The layout version of a stored job: the hash field `v`, written by every
 * path that creates a job hash (create, and the recreate of begin-attempt.lua).
 * A reader of another layout, if one is ever needed, branches on it here
 * rather than guessing from which fields are present.
 *
 * 2: the hash holds the summary fields a listing reads (job-fields.ts); a
 * hash of layout 1 has none, and a listing reads its spec instead.
 */
export const JOB_LAYOUT_VERSION = '2';
