import type { Snapshot } from '../routes/console/schemas.js';
import {
  latencyOf,
  ratesBetween,
  sumTotals,
  topApplications,
  topDestinations,
  type DestinationRow,
  type Latency,
  type Totals,
} from './snapshot-math.js';

/**
 * What the poller records each second: everything a snapshot of any view is
 * made from. Per-application latency is kept as percentiles (three numbers),
 * not histograms, so that 15 minutes of frames stay small.
 */
export interface Frame {
  at: number;
  totals: ReadonlyMap<string, Totals>;
  latency: { all: Latency; byApplication: ReadonlyMap<string, Latency> };
  queues: Snapshot['queues'];
  workers: Snapshot['workers'];
}

/** What only the newest frame needs: the inputs of the top lists. */
export interface LiveInputs {
  destinations: readonly DestinationRow[];
}

/** Whose numbers a stream shows: every application's, or one's. */
export type View = { kind: 'all' } | { kind: 'application'; id: string };

export function viewKey(view: View): string {
  return view.kind === 'all' ? '*' : `app:${view.id}`;
}

export function admits(view: View): (application: string) => boolean {
  return view.kind === 'all' ? () => true : (application) => application === view.id;
}

/** Frames further apart than this are not compared for rates (the poller was stopped in between). */
export const MAX_RATE_GAP_MS = 5000;
/** The span of the top applications list. */
export const TOP_APPLICATIONS_SPAN_MS = 5 * 60_000;

const NO_LATENCY: Latency = { p50: null, p90: null, p99: null };

/**
 * The snapshot of `view` at `frames[index]`. History points (no `live`) carry
 * empty worker and top lists: the UI draws charts from history, and lists
 * from the live snapshots; this keeps 15 minutes of history small whatever
 * the number of workers. Pass `live` for the newest frame.
 */
export function snapshotAt(frames: readonly Frame[], index: number, view: View, live?: LiveInputs): Snapshot {
  const frame = frames[index]!;
  const inView = admits(view);
  const totals = sumTotals(frame.totals, inView);
  const previous = index > 0 ? frames[index - 1]! : null;
  const comparable = previous && frame.at - previous.at <= MAX_RATE_GAP_MS ? previous : null;
  const rates = ratesBetween(
    comparable ? sumTotals(comparable.totals, inView) : null,
    totals,
    frame.at - (comparable?.at ?? frame.at),
  );
  const latencyMs = view.kind === 'all' ? frame.latency.all : (frame.latency.byApplication.get(view.id) ?? NO_LATENCY);
  let top: Snapshot['top'] = { applications: [], destinations: [] };
  if (live) {
    // The oldest frame within the span; right after start-up that is this one, and the list is empty
    // rather than counting every job since the store began as "the last 5 minutes".
    const past = frameAtOrAfter(frames, frame.at - TOP_APPLICATIONS_SPAN_MS) ?? frame;
    top = {
      applications: topApplications(past.totals, frame.totals, inView),
      destinations: topDestinations(live.destinations, inView),
    };
  }
  return {
    at: new Date(frame.at).toISOString(),
    totals,
    rates,
    latencyMs,
    queues: frame.queues,
    workers: live ? frame.workers : [],
    top,
  };
}

/** The oldest frame taken at or after `at` (frames are in time order). */
export function frameAtOrAfter(frames: readonly Frame[], at: number): Frame | null {
  let lo = 0;
  let hi = frames.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (frames[mid]!.at < at) lo = mid + 1;
    else hi = mid;
  }
  return frames[lo] ?? null;
}

/** Latency percentiles of every view, from the heartbeats' histograms by application. */
export function latencyOfFrame(histograms: ReadonlyMap<string, readonly number[]>): Frame['latency'] {
  const byApplication = new Map<string, Latency>();
  for (const application of histograms.keys())
    byApplication.set(
      application,
      latencyOf(histograms, (a) => a === application),
    );
  return { all: latencyOf(histograms, () => true), byApplication };
}
