/**
 * The layout version of a stored job: the hash field `v`, written by every
 * path that creates a job hash (create, and the recreate of begin-attempt.lua).
 * A reader of another layout, if one is ever needed, branches on it here
 * rather than guessing from which fields are present.
 *
 * 2: every key of a job and of its application carries the application's
 * hash tag (keys/redis-keys.ts), for Redis Cluster. Layout 1 keys are not
 * read: their jobs age out with their TTL, a message still in flight for one
 * recreates it in layout 2 (begin-attempt.lua), and application records are
 * moved once at start (ApplicationStore.migrateRecords). docs/operations.md
 * ("Upgrading to the hash-tagged layout").
 */
export const JOB_LAYOUT_VERSION = '2';
