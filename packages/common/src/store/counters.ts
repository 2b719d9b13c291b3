import type { Redis } from 'ioredis';
import { redisKeys } from '../keys/redis-keys.js';
import { JobStatus } from '../status.js';
import { execAll } from './redis-exec.js';

/**
 * Every counter of GET /api/metrics, in the order it shows them. Counters live
 * in one Redis hash per application, so all processes add up, except those in
 * DERIVED_COUNTERS, which are read from an index instead of stored.
 */
export const COUNTER_NAMES = [
  'jobs_created',
  'jobs_processing',
  'jobs_success',
  'jobs_failed',
  'jobs_retried',
  'jobs_dlq',
  'jobs_cancelled',
  'callbacks_sent',
  'callbacks_failed',
] as const;

/**
 * Counters computed when read: `jobs_processing` is the size of the
 * in_progress index (jobs running right now), not a count of events, so
 * nothing increments it.
 */
export const DERIVED_COUNTERS = ['jobs_processing'] as const;

export type DerivedCounterName = (typeof DERIVED_COUNTERS)[number];
/** A counter stored in Redis: the names a script or setCallback may increment. */
export type CounterName = Exclude<(typeof COUNTER_NAMES)[number], DerivedCounterName>;
export type Counters = Record<(typeof COUNTER_NAMES)[number], number>;

export const STORED_COUNTER_NAMES: readonly CounterName[] = COUNTER_NAMES.filter(
  (name): name is CounterName => !(DERIVED_COUNTERS as readonly string[]).includes(name),
);

/** The counter a job's move into a status increments (statuses not listed move none). */
export const STATUS_COUNTERS: Readonly<Partial<Record<JobStatus, CounterName>>> = {
  [JobStatus.completed]: 'jobs_success',
  [JobStatus.failed]: 'jobs_failed',
  [JobStatus.retrying]: 'jobs_retried',
  [JobStatus.cancelled]: 'jobs_cancelled',
};

/** Counters of events that are not a status: a job stored, a job dead-lettered. */
export const EVENT_COUNTERS = { created: 'jobs_created', deadLettered: 'jobs_dlq' } as const satisfies Record<
  string,
  CounterName
>;

/** All zero: the start of a sum. */
export function zeroCounters(): Counters {
  return Object.fromEntries(COUNTER_NAMES.map((name) => [name, 0])) as Counters;
}

/**
 * The sum of the counters of `applications`: each stored counter from the
 * application's counters hash, jobs_processing from the size of its
 * in_progress index. One pipeline per application (each application is one
 * slot on Redis Cluster), all sent at once.
 */
export async function readCounters(redis: Redis, prefix: string, applications: readonly string[]): Promise<Counters> {
  const results = await Promise.all(
    applications.map((application) => {
      const keys = redisKeys(prefix, application);
      return execAll(redis.pipeline().hgetall(keys.counters()).zcard(keys.indexStatus(JobStatus.inProgress)));
    }),
  );
  const totals = zeroCounters();
  for (const [raw, processing] of results as [Record<string, string>, number][]) {
    for (const name of STORED_COUNTER_NAMES) totals[name] += Number(raw[name] ?? 0);
    totals.jobs_processing += processing;
  }
  return totals;
}
