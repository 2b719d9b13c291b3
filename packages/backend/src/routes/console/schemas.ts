import { Type, type Static } from 'typebox';
import { WorkerStateSchema } from '@relay/common';

/**
 * The console's live stream (GET /api/console/stream): one `history` event,
 * then a `snapshot` event every second. These schemas are the only definition
 * of its shape; packages/console mirrors them in its types file.
 */

const count = Type.Number({ minimum: 0 });
const perSecond = Type.Number({ minimum: 0, description: 'Per second, over the last poll interval' });
const ms = Type.Union([Type.Number({ minimum: 0 }), Type.Null()]);

export const SnapshotSchema = Type.Object({
  at: Type.String({ format: 'date-time' }),
  totals: Type.Object(
    {
      accepted: count,
      completed: count,
      failed: count,
      retried: count,
      cancelled: count,
      deadLettered: count,
    },
    { description: 'Counters since the store began, summed over the applications in view' },
  ),
  rates: Type.Object({ accepted: perSecond, completed: perSecond, failed: perSecond, retried: perSecond }),
  latencyMs: Type.Object(
    { p50: ms, p90: ms, p99: ms },
    {
      description:
        'Submit to final result over the last 60 s, as reported by the workers: the upper bound of the histogram bucket holding the percentile; null without finished jobs',
    },
  ),
  queues: Type.Object(
    { work: count, delayed: count, deadLetters: count },
    { description: 'Messages ready in the shared queues (delayed: all delay tiers)' },
  ),
  workers: Type.Array(
    Type.Object({
      id: Type.String(),
      host: Type.String(),
      pid: Type.Integer(),
      inFlight: Type.Integer({ minimum: 0 }),
      state: WorkerStateSchema,
      lastSeenAt: Type.String({ format: 'date-time' }),
    }),
  ),
  top: Type.Object({
    applications: Type.Array(Type.Object({ id: Type.String(), accepted: count, failed: count }), {
      description: 'Over the last 5 min: the 5 busiest and the 5 most failing, merged',
    }),
    destinations: Type.Array(Type.Object({ host: Type.String(), completed: count, failed: count }), {
      description: 'Attempts over the last 60 s (answered 2xx, or not): the 5 busiest and the 5 most failing, merged',
    }),
  }),
});
export type Snapshot = Static<typeof SnapshotSchema>;

export const HistorySchema = Type.Object({ points: Type.Array(SnapshotSchema) });
export type History = Static<typeof HistorySchema>;
