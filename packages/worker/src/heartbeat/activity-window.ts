import {
  addHistogram,
  bucketOf,
  emptyHistogram,
  HEARTBEAT_MAX_ROWS,
  HEARTBEAT_WINDOW_MS,
  type Heartbeat,
} from '@relay/common';

/** One second of activity. */
interface Slot {
  /** The epoch second it holds; a slot of an older second is stale and is reset before use. */
  second: number;
  /** `${application}\n${host}` -> [completed, failed]. */
  destinations: Map<string, [number, number]>;
  latency: Map<string, number[]>;
}

const SLOT_MS = 1000;
const SLOTS = HEARTBEAT_WINDOW_MS / SLOT_MS;

/** What the heartbeat reports of the last minute. */
export type Activity = Pick<Heartbeat, 'destinations' | 'latency'>;

/**
 * The worker's activity of the last HEARTBEAT_WINDOW_MS, in one-second slots
 * reused round the clock: memory is bounded by the distinct (application,
 * host) pairs seen in a minute, not by the job rate. No I/O; the clock is
 * passed in.
 */
export class ActivityWindow {
  private readonly slots: Slot[] = Array.from({ length: SLOTS }, () => ({
    second: -1,
    destinations: new Map(),
    latency: new Map(),
  }));

  constructor(private readonly now: () => number) {}

  /** One attempt at `host`: answered with success, or not. */
  attempt(application: string, host: string, success: boolean): void {
    const slot = this.slot();
    const key = `${application}\n${host}`;
    const row = slot.destinations.get(key) ?? [0, 0];
    row[success ? 0 : 1]++;
    slot.destinations.set(key, row);
  }

  /** One job of `application` reached its final status `ms` after it was submitted. */
  finished(application: string, ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) return;
    const slot = this.slot();
    let histogram = slot.latency.get(application);
    if (!histogram) slot.latency.set(application, (histogram = emptyHistogram()));
    histogram[bucketOf(ms)]!++;
  }

  /** The sums over the window, the busiest HEARTBEAT_MAX_ROWS rows of each list. */
  read(): Activity {
    const oldest = this.second() - SLOTS + 1;
    const destinations = new Map<string, [number, number]>();
    const latency = new Map<string, number[]>();
    for (const slot of this.slots) {
      if (slot.second < oldest) continue;
      for (const [key, [c, f]] of slot.destinations) {
        const row = destinations.get(key) ?? [0, 0];
        row[0] += c;
        row[1] += f;
        destinations.set(key, row);
      }
      for (const [application, counts] of slot.latency) {
        let sum = latency.get(application);
        if (!sum) latency.set(application, (sum = emptyHistogram()));
        addHistogram(sum, counts);
      }
    }
    const total = (counts: readonly number[]) => counts.reduce((a, b) => a + b, 0);
    return {
      destinations: [...destinations]
        .sort((a, b) => b[1][0] + b[1][1] - (a[1][0] + a[1][1]))
        .slice(0, HEARTBEAT_MAX_ROWS)
        .map(([key, [completed, failed]]) => {
          const cut = key.indexOf('\n');
          return { application: key.slice(0, cut), host: key.slice(cut + 1), completed, failed };
        }),
      latency: [...latency]
        .sort((a, b) => total(b[1]) - total(a[1]))
        .slice(0, HEARTBEAT_MAX_ROWS)
        .map(([application, counts]) => ({ application, counts })),
    };
  }

  private second(): number {
    return Math.floor(this.now() / SLOT_MS);
  }

  private slot(): Slot {
    const second = this.second();
    const slot = this.slots[second % SLOTS]!;
    if (slot.second !== second) {
      slot.second = second;
      slot.destinations.clear();
      slot.latency.clear();
    }
    return slot;
  }
}
