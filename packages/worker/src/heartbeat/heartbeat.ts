import { hostname } from 'node:os';
import {
  HEARTBEAT_INTERVAL_MS,
  HEARTBEAT_TTL_SECONDS,
  randomHex,
  redisKeys,
  type Heartbeat,
  type Logger,
  type WorkerState,
} from '@relay/common';
import type { Redis } from 'ioredis';
import type { ActivityWindow } from './activity-window.js';

export interface HeartbeatOptions {
  redis: Redis;
  prefix: string;
  activity: ActivityWindow;
  inFlight: () => number;
  state: () => WorkerState;
  log: Logger;
  /** @defaultValue `<hostname>-<pid>-<random>`: unique even for two workers of one container image. */
  id?: string;
  /** @defaultValue HEARTBEAT_INTERVAL_MS */
  intervalMs?: number;
}

/** The longest a stopping worker waits on a heartbeat write or removal. */
const SHUTDOWN_WAIT_MS = 500;

/** Resolves when `promise` settles or after `ms`, whichever is first; never rejects. */
async function atMost(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    promise.catch(() => undefined),
    new Promise((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]);
  clearTimeout(timer);
}

/** A worker's unique id in the console: host name, pid, and random hex against pid reuse across containers. */
export function workerId(): string {
  return `${hostname()}-${process.pid}-${randomHex(3)}`;
}

/**
 * Writes the worker's heartbeat every interval: SET with a TTL (a dead worker
 * disappears by itself) and SADD of its id to the workers set, two single-key
 * commands so that the keys may live on different Redis Cluster nodes. A
 * failed write is logged at debug and skipped: the console is not worth a
 * worker's attention while Redis is away, and the next tick tries again.
 */
export class HeartbeatPublisher {
  readonly id: string;
  private timer: NodeJS.Timeout | null = null;
  private writing: Promise<void> | null = null;

  constructor(private readonly options: HeartbeatOptions) {
    this.id = options.id ?? workerId();
  }

  /** What the next write would store. */
  heartbeat(now = new Date()): Heartbeat {
    const { activity, inFlight, state } = this.options;
    return {
      v: 1,
      id: this.id,
      host: hostname(),
      pid: process.pid,
      at: now.toISOString(),
      inFlight: inFlight(),
      state: state(),
      ...activity.read(),
    };
  }

  start(): void {
    if (this.timer) return;
    void this.tick();
    this.timer = setInterval(() => void this.tick(), this.options.intervalMs ?? HEARTBEAT_INTERVAL_MS);
    this.timer.unref();
  }

  /** Writes one heartbeat now (the caller may await it: a draining worker says so at once). */
  async tick(): Promise<void> {
    // One write at a time: a slow Redis must not pile writes up.
    if (this.writing) return this.writing;
    this.writing = this.write().finally(() => {
      this.writing = null;
    });
    return this.writing;
  }

  /**
   * Writes one heartbeat now, waiting at most SHUTDOWN_WAIT_MS: a worker that
   * begins to stop shows `draining` at once, but a Redis that hangs must not
   * hold the shutdown for a command timeout.
   */
  async announce(): Promise<void> {
    await atMost(this.tick(), SHUTDOWN_WAIT_MS);
  }

  /**
   * Stops writing and removes the heartbeat, so a worker that stopped cleanly
   * leaves the console at once (waiting at most SHUTDOWN_WAIT_MS; else the
   * key expires by itself).
   */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const keys = redisKeys(this.options.prefix);
    const remove = (this.writing ?? Promise.resolve())
      .then(() =>
        Promise.all([
          this.options.redis.del(keys.workerHeartbeat(this.id)),
          this.options.redis.srem(keys.workers(), this.id),
        ]),
      )
      .then(
        () => undefined,
        (err: unknown) => this.options.log.debug({ err }, 'heartbeat not removed'),
      );
    await atMost(remove, SHUTDOWN_WAIT_MS);
  }

  private async write(): Promise<void> {
    const keys = redisKeys(this.options.prefix);
    try {
      await Promise.all([
        this.options.redis.set(
          keys.workerHeartbeat(this.id),
          JSON.stringify(this.heartbeat()),
          'EX',
          HEARTBEAT_TTL_SECONDS,
        ),
        this.options.redis.sadd(keys.workers(), this.id),
      ]);
    } catch (err) {
      this.options.log.debug({ err }, 'heartbeat not written');
    }
  }
}
