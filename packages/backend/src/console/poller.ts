import {
  addHistogram,
  DEFAULT_APPLICATION,
  emptyHistogram,
  parseHeartbeat,
  queueNames,
  redisKeys,
  type ApplicationStore,
  type Heartbeat,
  type Logger,
} from '@relay/common';
import type { Redis } from 'ioredis';
import type { JobQueue } from '../plugins/job-queue.js';
import type { Snapshot } from '../routes/console/schemas.js';
import { latencyOfFrame, snapshotAt, viewKey, type Frame, type LiveInputs, type View } from './frames.js';
import { totalsOfHash, type DestinationRow, type Totals } from './snapshot-math.js';

/** One poll a second: the stream's promised update rate. */
export const POLL_INTERVAL_MS = 1000;
/** 15 minutes of one-second frames: the span of the charts. */
export const HISTORY_FRAMES = 900;

export interface ConsolePollerOptions {
  redis: Redis;
  prefix: string;
  applications: Pick<ApplicationStore, 'ids'>;
  jobQueue: Pick<JobQueue, 'depths'>;
  log: Pick<Logger, 'info' | 'warn'>;
  /** @defaultValue POLL_INTERVAL_MS */
  intervalMs?: number;
  now?: () => number;
}

/** A connected stream: called with each new frame, and once when the poller shuts the streams. */
export interface Subscriber {
  frame(): void;
  close(): void;
}

/**
 * The one poller of a backend process, however many streams are open: it
 * reads Redis (counters of every application, worker heartbeats) and the
 * queue depths once per interval while at least one stream is connected,
 * records a frame in a 15-minute ring, and tells every subscriber. Snapshots
 * are built once per view and frame and shared, serialized, by the streams of
 * that view.
 */
export class ConsolePoller {
  private readonly frames: Frame[] = [];
  private live: LiveInputs = { destinations: [] };
  private readonly subscribers = new Set<Subscriber>();
  private timer: NodeJS.Timeout | null = null;
  private polling = false;
  private failing = false;
  /** Serialized snapshots of the newest frame, by view. */
  private cache = new Map<string, string>();
  private readonly now: () => number;

  constructor(private readonly options: ConsolePollerOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Adds a stream; the first one starts polling. Returns its unsubscribe. */
  subscribe(subscriber: Subscriber): () => void {
    this.subscribers.add(subscriber);
    if (!this.timer) {
      this.timer = setInterval(() => void this.poll(), this.options.intervalMs ?? POLL_INTERVAL_MS);
      void this.poll();
    }
    return () => {
      this.subscribers.delete(subscriber);
      if (this.subscribers.size === 0) this.stop();
    };
  }

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  get running(): boolean {
    return this.timer !== null;
  }

  /** Every recorded frame of `view` as snapshots, oldest first (the `history` event). */
  history(view: View): Snapshot[] {
    return this.frames.map((_, i) => snapshotAt(this.frames, i, view));
  }

  /** The newest snapshot of `view`, serialized; null before the first frame. */
  latest(view: View): string | null {
    if (this.frames.length === 0) return null;
    const key = viewKey(view);
    let json = this.cache.get(key);
    if (json === undefined) {
      json = JSON.stringify(snapshotAt(this.frames, this.frames.length - 1, view, this.live));
      this.cache.set(key, json);
    }
    return json;
  }

  /** Closes every stream (the server is shutting down) and stops polling. */
  closeAll(): void {
    for (const subscriber of [...this.subscribers]) subscriber.close();
    this.subscribers.clear();
    this.stop();
  }

  /** One poll: read, record, fan out. Skipped while the previous one still runs (a slow Redis). */
  async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      const { frame, live } = await this.read();
      this.frames.push(frame);
      if (this.frames.length > HISTORY_FRAMES) this.frames.splice(0, this.frames.length - HISTORY_FRAMES);
      this.live = live;
      this.cache = new Map();
      if (this.failing) this.options.log.info('console poller reads again');
      this.failing = false;
    } catch (err) {
      // Logged once per outage: the streams simply get no snapshot until it ends.
      if (!this.failing) this.options.log.warn({ err }, 'console poller could not read; retrying every interval');
      this.failing = true;
      return;
    } finally {
      this.polling = false;
    }
    for (const subscriber of this.subscribers) subscriber.frame();
  }

  private stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private async read(): Promise<{ frame: Frame; live: LiveInputs }> {
    const queues = queueNames(this.options.prefix);
    const delayQueues = queues.allDelay();
    const [totals, heartbeats, depths] = await Promise.all([
      this.readTotals(),
      this.readHeartbeats(),
      // The broker away must not blank the whole console: depths then read 0 (the health route says why).
      this.options.jobQueue
        .depths([queues.work, queues.deadLetters, ...delayQueues])
        .catch(() => ({}) as Record<string, number>),
    ]);
    const histograms = new Map<string, number[]>();
    const destinations: DestinationRow[] = [];
    for (const beat of heartbeats) {
      destinations.push(...beat.destinations);
      for (const { application, counts } of beat.latency) {
        let sum = histograms.get(application);
        if (!sum) histograms.set(application, (sum = emptyHistogram()));
        addHistogram(sum, counts);
      }
    }
    const frame: Frame = {
      at: this.now(),
      totals,
      latency: latencyOfFrame(histograms),
      queues: {
        work: depths[queues.work] ?? 0,
        delayed: delayQueues.reduce((sum, q) => sum + (depths[q] ?? 0), 0),
        deadLetters: depths[queues.deadLetters] ?? 0,
      },
      workers: heartbeats
        .map((b) => ({ id: b.id, host: b.host, pid: b.pid, inFlight: b.inFlight, state: b.state, lastSeenAt: b.at }))
        .sort((a, b) => a.id.localeCompare(b.id)),
    };
    return { frame, live: { destinations } };
  }

  /**
   * Every application's counters hash, one single-key command each (no
   * multi-key pipeline: under Redis Cluster each application's keys sit in
   * its own hash slot).
   */
  private async readTotals(): Promise<Map<string, Totals>> {
    const { redis, prefix } = this.options;
    const ids = [DEFAULT_APPLICATION, ...(await this.options.applications.ids())];
    const hashes = await Promise.all(ids.map((id) => redis.hgetall(redisKeys(prefix, id).counters())));
    return new Map(ids.map((id, i) => [id, totalsOfHash(hashes[i]!)]));
  }

  /** Live workers' heartbeats; ids whose heartbeat expired are dropped from the workers set. */
  private async readHeartbeats(): Promise<Heartbeat[]> {
    const { redis, prefix } = this.options;
    const keys = redisKeys(prefix);
    const ids = await redis.smembers(keys.workers());
    const raws = await Promise.all(ids.map((id) => redis.get(keys.workerHeartbeat(id))));
    const gone = ids.filter((_, i) => raws[i] === null);
    if (gone.length) await redis.srem(keys.workers(), ...gone);
    return raws.flatMap((raw) => {
      const beat = raw === null ? null : parseHeartbeat(raw);
      return beat ? [beat] : [];
    });
  }
}
