import { Type, type Static } from 'typebox';
import { Compile } from 'typebox/compile';
import { LATENCY_BUCKETS } from './latency-histogram.js';

/**
 * What a worker writes to Redis every second (RedisKeys.workerHeartbeat) and
 * the backend's console poller reads. The key expires HEARTBEAT_TTL_SECONDS
 * after the last write, so a worker that died leaves the console within
 * seconds without anyone cleaning up after it.
 */

/** How often a worker writes its heartbeat. */
export const HEARTBEAT_INTERVAL_MS = 1000;
/**
 * Life of a heartbeat key: several intervals, so that one slow Redis round
 * trip or a busy event loop does not make a live worker blink out.
 */
export const HEARTBEAT_TTL_SECONDS = 5;
/** Span of the activity a heartbeat reports (destinations, latency). */
export const HEARTBEAT_WINDOW_MS = 60_000;
/**
 * At most this many (application, destination) rows and latency histograms
 * per heartbeat, the busiest kept: a worker calling thousands of hosts still
 * writes a bounded value every second.
 */
export const HEARTBEAT_MAX_ROWS = 100;

export const WorkerStateSchema = Type.Union([
  Type.Literal('consuming'),
  Type.Literal('paused'),
  Type.Literal('draining'),
]);
export type WorkerState = Static<typeof WorkerStateSchema>;

export const HeartbeatSchema = Type.Object({
  v: Type.Literal(1),
  id: Type.String(),
  host: Type.String(),
  pid: Type.Integer(),
  /** When the worker wrote this heartbeat (ISO). */
  at: Type.String(),
  inFlight: Type.Integer({ minimum: 0 }),
  /** consuming: taking messages; paused: no consumer (broker lost, cancelled); draining: stopping. */
  state: WorkerStateSchema,
  /** Attempts by application and target host over the last HEARTBEAT_WINDOW_MS: answered 2xx, or not. */
  destinations: Type.Array(
    Type.Object({ application: Type.String(), host: Type.String(), completed: Type.Integer(), failed: Type.Integer() }),
  ),
  /** Jobs finished over the last HEARTBEAT_WINDOW_MS, by application: submit-to-result latency histograms. */
  latency: Type.Array(
    Type.Object({
      application: Type.String(),
      counts: Type.Array(Type.Integer({ minimum: 0 }), { minItems: LATENCY_BUCKETS, maxItems: LATENCY_BUCKETS }),
    }),
  ),
});
export type Heartbeat = Static<typeof HeartbeatSchema>;

const heartbeatValidator = Compile(HeartbeatSchema);

/** A stored heartbeat, or null when it is not JSON of this layout (another version, a corrupt value). */
export function parseHeartbeat(raw: string): Heartbeat | null {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return null;
  }
  return heartbeatValidator.Check(value) ? (value as Heartbeat) : null;
}
