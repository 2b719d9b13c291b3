/**
 * Which index keys the job scripts give their lifetime again. Every add to an
 * index used to EXPIRE it (5 calls per job, each about 2 µs of Redis CPU:
 * docs/benchmarks.md, "Redis calls per job"); an index lives JOB_TTL_SECONDS
 * plus a slack of at least a minute (index-window.ts), so refreshing each one
 * at most once a minute per process loses nothing: an index this process adds
 * to lives at least its lifetime minus INDEX_REFRESH_MS after its last add.
 *
 * A script is told to refresh (its idxTtl argument) when any index it may
 * add to is due; the keys it did refresh are marked after it succeeds, so a
 * script that failed, or that added to another index than expected (an
 * attempt that ends cancelled), leaves them due.
 *
 * One case stays open, knowingly: an empty sorted set is deleted, so a status
 * index that empties (its last job moved on, often by another process) and is
 * created again by an add of a process that refreshed it less than a minute
 * before has no lifetime until that process's next add to it, at most a minute
 * later. If no add ever comes again and the entry's job never leaves that
 * status, the key stays, holding entries that the next add would trim: at most
 * one key per index, not a growth.
 */
export const INDEX_REFRESH_MS = 60_000;

/** Keys remembered at most; past it the memory starts again (everything due once more). */
const MAX_TRACKED = 10_000;

export class IndexRefreshGate {
  private readonly last = new Map<string, number>();

  constructor(private readonly intervalMs: number = INDEX_REFRESH_MS) {}

  /** A gate that forgets everything whenever one of `connections` is ready (after each reconnect: see clear). */
  static clearedOnReady(
    connections: readonly { on(event: 'ready', listener: () => void): unknown }[],
  ): IndexRefreshGate {
    const gate = new IndexRefreshGate();
    for (const connection of new Set(connections)) connection.on('ready', () => gate.clear());
    return gate;
  }

  /** Whether any of `keys` has not been refreshed here within the interval. */
  due(keys: readonly string[], nowMs: number): boolean {
    return keys.some((key) => {
      const at = this.last.get(key);
      return at === undefined || nowMs - at >= this.intervalMs;
    });
  }

  /** Records that a script gave `keys` their lifetime at `nowMs`. */
  refreshed(keys: readonly string[], nowMs: number): void {
    if (this.last.size + keys.length > MAX_TRACKED) this.last.clear();
    for (const key of keys) this.last.set(key, nowMs);
  }

  /**
   * Everything due again: called when the connection is ready after a
   * reconnect, since a Redis that restarted empty lost the indexes with
   * their lifetimes, and the next add creates them afresh.
   */
  clear(): void {
    this.last.clear();
  }
}
