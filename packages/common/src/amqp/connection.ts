import amqp from 'amqplib';
import type { ChannelModel, ConfirmChannel } from 'amqplib';
import { redactUrl } from '../config.js';
import type { LogSink } from '../logger.js';
import { retryUntilReachable } from '../reachability.js';
import { ConfirmTimeoutError } from '../errors.js';
import { failPendingPublishes, PublishBlockedError } from './publish.js';

export const RABBITMQ_START_HINT =
  'start it with `docker compose -p relay-dev -f docker/dev-brokers.yml up -d rabbitmq`, or `rabbitmq-server -detached`, or set RABBITMQ_URL';

export interface AmqpOptions {
  url: string;
  log: LogSink;
  startupTimeoutMs: number;
  /** What this connection is for, in its log lines (`publish`, `consume`). */
  role?: string;
  /**
   * Runs on every new confirm channel: after a (re)connect, and after the
   * broker closed the channel while the connection stayed up. Declare the
   * topology and start consumers here: a channel's consumers and prefetch die
   * with it. A setup that throws closes the channel and is tried again later.
   */
  setup: (channel: ConfirmChannel) => Promise<void>;
  /**
   * Runs (at most once per REDECLARE_MIN_INTERVAL_MS) when the broker returns a
   * message as unroutable: the topology is gone, declare it again so that the
   * next publish routes. The returned publish itself has already failed.
   */
  redeclare?: (channel: ConfirmChannel) => Promise<void>;
  /**
   * While the broker blocks the connection (a memory or disk alarm), refuse
   * publishes at once with PublishBlockedError and fail those awaiting their
   * confirm, instead of letting them wait for the confirm timeout. Right for
   * a caller that answers a client; a worker would rather wait.
   * @defaultValue false
   */
  failFastWhenBlocked?: boolean;
}

/** A RabbitMQ connection and its confirm channel, both brought back by themselves. */
export interface AmqpHandle {
  /** The current confirm channel, or null while there is none (disconnected, or reopening). */
  channel(): ConfirmChannel | null;
  /** The current connection, or null while disconnected: for short-lived channels (queue checks). */
  connection(): ChannelModel | null;
  /** The broker's reason while it blocks this connection's publishes (memory or disk alarm), else null. */
  blockedReason(): string | null;
  /**
   * The channel to publish on: throws PublishBlockedError while blocked if
   * `failFastWhenBlocked`, else the current channel (null when there is none).
   */
  publishChannel(): ConfirmChannel | null;
  close(): Promise<void>;
}

/** First wait before reopening a channel the broker closed; doubles per failed try up to the maximum. */
export const CHANNEL_REOPEN_MIN_MS = 100;
export const CHANNEL_REOPEN_MAX_MS = 5000;
/** Unroutable returns come in bursts (every publish to a deleted queue): one redeclare per burst is enough. */
const REDECLARE_MIN_INTERVAL_MS = 1000;

/**
 * The wait before try number `attempt` (1-based) of reopening a channel:
 * doubling from the minimum, capped, with up to 20% taken off at random so
 * that many processes whose channels closed together do not retry in step.
 */
export function channelReopenDelay(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(CHANNEL_REOPEN_MAX_MS, CHANNEL_REOPEN_MIN_MS * 2 ** Math.max(0, attempt - 1));
  return Math.round(base * (1 - 0.2 * random()));
}

/**
 * Connects with publisher confirms. Start-up retries for a bounded time
 * (p-retry) with a message that says how to start RabbitMQ; once connected,
 * amqplib's own recovery reconnects forever and `setup` runs again. A channel
 * the broker closes while the connection stays up (a channel error, a
 * consumer_timeout) is reopened here, with backoff, since amqplib's recovery
 * only covers the connection.
 */
export async function connectAmqp(options: AmqpOptions): Promise<AmqpHandle> {
  const where = redactUrl(options.url);
  const role = options.role ?? 'amqp';
  let model: ChannelModel | null = null;
  let current: ConfirmChannel | null = null;
  let blocked: string | null = null;
  let closing = false;
  let lastRedeclare = 0;

  /** Opens a confirm channel on `owner` and runs setup; throws when either fails. */
  async function openChannel(owner: ChannelModel): Promise<void> {
    const channel = await owner.createConfirmChannel();
    let closedReason: string | undefined;
    let closed = false;
    channel.on('error', (err: Error) => {
      closedReason = err.message;
      options.log.warn({ err, role }, 'amqp channel error');
    });
    // Only a channel that was in use is reopened from here: one that closes
    // during its setup fails the setup, and the caller of openChannel retries.
    channel.on('close', () => {
      closed = true;
      if (current !== channel) return;
      current = null;
      if (!closing && model === owner) reopen(owner, closedReason ?? 'closed');
    });
    channel.on('return', () => {
      if (!options.redeclare || Date.now() - lastRedeclare < REDECLARE_MIN_INTERVAL_MS) return;
      lastRedeclare = Date.now();
      options.log.warn({ role }, 'a message was returned as unroutable; declaring the topology again');
      options.redeclare(channel).catch((err: unknown) => options.log.warn({ err, role }, 'redeclare failed'));
    });
    try {
      await options.setup(channel);
      if (closed) throw new Error(`channel closed during setup: ${closedReason ?? 'closed'}`);
    } catch (err) {
      await channel.close().catch(() => undefined);
      throw err;
    }
    current = channel;
  }

  /** Reopens the channel of `owner` with backoff, for as long as `owner` is the live connection. */
  let reopeningFor: ChannelModel | null = null;
  function reopen(owner: ChannelModel, reason: string): void {
    if (reopeningFor === owner) return;
    reopeningFor = owner;
    const startedAt = Date.now();
    options.log.warn({ role, reason }, 'rabbitmq closed the channel; reopening it');
    const attempt = async (n: number): Promise<void> => {
      await new Promise((r) => setTimeout(r, channelReopenDelay(n)));
      if (closing || model !== owner) return;
      try {
        await openChannel(owner);
        options.log.warn({ role, attempts: n, ms: Date.now() - startedAt }, 'rabbitmq channel reopened');
      } catch (err) {
        options.log.warn({ err, role, attempt: n }, 'could not reopen the channel; trying again');
        return attempt(n + 1);
      }
    };
    void attempt(1).finally(() => {
      if (reopeningFor === owner) reopeningFor = null;
    });
  }

  const connectOptions = {
    recovery: {
      initialMaxRetries: 0,
      maxRetries: Number.POSITIVE_INFINITY,
      initialDelay: 200,
      maxDelay: 2000,
      async setup(next: ChannelModel) {
        model = next;
        blocked = null;
        await openChannel(next);
      },
    },
  };
  // Heartbeats let both sides notice a dead peer within ~2 intervals.
  const url = new URL(options.url);
  if (!url.searchParams.has('heartbeat')) url.searchParams.set('heartbeat', '10');

  const connection = await retryUntilReachable(() => amqp.connect(url.toString(), connectOptions), {
    service: 'RabbitMQ',
    where,
    hint: RABBITMQ_START_HINT,
    log: options.log,
    timeoutMs: options.startupTimeoutMs,
  });

  connection.on('error', (err: Error) => options.log.warn({ err, rabbitmq: where, role }, 'amqp connection error'));
  connection.on('disconnect', (err?: Error) => {
    model = null;
    current = null;
    blocked = null;
    if (!closing) {
      options.log.warn({ rabbitmq: where, role, reason: err?.message }, 'rabbitmq connection lost; reconnecting');
    }
  });
  connection.on('connect', () => options.log.info({ rabbitmq: where, role }, 'rabbitmq connected'));
  connection.on('blocked', (reason: string) => {
    blocked = reason || 'blocked';
    const failed =
      options.failFastWhenBlocked && current ? failPendingPublishes(current, new ConfirmTimeoutError(`connection blocked (${blocked}) before the confirm`)) : 0;
    options.log.warn({ rabbitmq: where, role, reason, failedPublishes: failed }, 'rabbitmq blocks publishing');
  });
  connection.on('unblocked', () => {
    blocked = null;
    options.log.warn({ rabbitmq: where, role }, 'rabbitmq unblocked publishing');
  });

  return {
    channel: () => current,
    connection: () => model,
    blockedReason: () => blocked,
    publishChannel() {
      if (blocked !== null && options.failFastWhenBlocked) throw new PublishBlockedError(blocked);
      return current;
    },
    async close() {
      closing = true;
      await connection.close().catch(() => undefined);
      current = null;
      model = null;
    },
  };
}
