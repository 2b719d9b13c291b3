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
  /** One node's URL; ignored when `urls` is given. */
  url?: string;
  /**
   * The nodes of a cluster (RABBITMQ_URLS), in order of preference: start-up
   * tries them in turn, and a lost connection goes on to the next one.
   */
  urls?: readonly string[];
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
/** First wait before trying a node again after a lost connection; doubles per round over every node, up to the maximum. */
export const RECONNECT_MIN_MS = 100;
export const RECONNECT_MAX_MS = 2000;
/** A node that neither accepts nor refuses (a partition, a hung host) is given up on after this long. */
const CONNECT_TIMEOUT_MS = 5000;
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
 * Which node reconnection try number `attempt` (1-based) goes to, and how
 * long it waits first, after the connection to node `lostIndex` of `count`
 * was lost. Pure. The first try goes to the next node, not the lost one: a
 * node that dropped its clients is usually stopping, and any node serves
 * every queue of the cluster. Tries go round the nodes in order; each full
 * round without success doubles the wait, from RECONNECT_MIN_MS up to
 * RECONNECT_MAX_MS, less up to 20% at random so that many clients that lost
 * the same node do not come back in step.
 */
export function reconnectPlan(
  attempt: number,
  lostIndex: number,
  count: number,
  random: () => number = Math.random,
): { index: number; delayMs: number } {
  const n = Math.max(1, Math.floor(attempt));
  const nodes = Math.max(1, Math.floor(count));
  const round = Math.floor((n - 1) / nodes);
  const base = Math.min(RECONNECT_MAX_MS, RECONNECT_MIN_MS * 2 ** Math.min(round, 16));
  return { index: (lostIndex + n) % nodes, delayMs: Math.round(base * (1 - 0.2 * random())) };
}

/** The URL with a heartbeat: both sides then notice a dead peer within ~2 intervals. */
function withHeartbeat(raw: string): string {
  const url = new URL(raw);
  if (!url.searchParams.has('heartbeat')) url.searchParams.set('heartbeat', '10');
  return url.toString();
}

/**
 * Connects with publisher confirms, to the first node of `urls` that answers.
 * Start-up goes round the nodes for a bounded time (p-retry) with a message
 * that says how to start RabbitMQ; once connected, a lost connection is
 * re-established forever, on the next node first (reconnectPlan), and
 * `setup` runs again on the new channel. Publishes awaiting their confirm
 * when the connection goes fail at once (amqplib fails a closed channel's
 * unconfirmed publishes): the caller never takes an unconfirmed publish for
 * a success. A channel the broker closes while the connection stays up (a
 * channel error, a consumer_timeout) is reopened here, with backoff.
 */
export async function connectAmqp(options: AmqpOptions): Promise<AmqpHandle> {
  const urls = options.urls && options.urls.length > 0 ? [...options.urls] : options.url ? [options.url] : [];
  if (urls.length === 0) throw new Error('connectAmqp: no RabbitMQ URL');
  const nodes = urls.map(redactUrl);
  const where = nodes.join(',');
  const role = options.role ?? 'amqp';
  let model: ChannelModel | null = null;
  let current: ConfirmChannel | null = null;
  let blocked: string | null = null;
  let closing = false;
  let lastRedeclare = 0;
  let reconnectTimer: NodeJS.Timeout | null = null;

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

  /**
   * Opens a connection to node `index` and its channel (running setup);
   * throws, with the connection closed again, when either fails.
   */
  async function openNode(index: number): Promise<ChannelModel> {
    const next = await amqp.connect(withHeartbeat(urls[index]!), { timeout: CONNECT_TIMEOUT_MS });
    // Until open, a failure is the caller's to retry; after, this connection's to re-establish.
    let open = false;
    next.on('error', (err: Error) => options.log.warn({ err, rabbitmq: nodes[index], role }, 'amqp connection error'));
    next.on('close', (err?: Error) => {
      if (model !== next) return;
      model = null;
      current = null;
      blocked = null;
      if (closing || !open) return;
      options.log.warn(
        { rabbitmq: nodes[index], role, reason: err?.message },
        'rabbitmq connection lost; reconnecting',
      );
      reconnect(index);
    });
    next.on('blocked', (reason: string) => {
      if (model !== next) return;
      blocked = reason || 'blocked';
      const failed =
        options.failFastWhenBlocked && current
          ? failPendingPublishes(current, new ConfirmTimeoutError(`connection blocked (${blocked}) before the confirm`))
          : 0;
      options.log.warn({ rabbitmq: nodes[index], role, reason, failedPublishes: failed }, 'rabbitmq blocks publishing');
    });
    next.on('unblocked', () => {
      if (model !== next) return;
      blocked = null;
      options.log.warn({ rabbitmq: nodes[index], role }, 'rabbitmq unblocked publishing');
    });
    model = next;
    blocked = null;
    try {
      await openChannel(next);
    } catch (err) {
      if (model === next) model = null;
      await next.close().catch(() => undefined);
      throw err;
    }
    if (closing) {
      model = null;
      current = null;
      await next.close().catch(() => undefined);
      throw new Error('closed while connecting');
    }
    if (model !== next) {
      current = null;
      throw new Error('connection closed during setup');
    }
    open = true;
    options.log.info({ rabbitmq: nodes[index], role }, 'rabbitmq connected');
    return next;
  }

  /** Re-establishes a lost connection, going round the nodes (reconnectPlan), until it succeeds or close() is called. */
  function reconnect(lostIndex: number): void {
    const startedAt = Date.now();
    const attempt = (n: number) => {
      const plan = reconnectPlan(n, lostIndex, urls.length);
      reconnectTimer = setTimeout(() => {
        reconnectTimer = null;
        if (closing) return;
        openNode(plan.index).then(
          () => {
            // Always said, also after one quick attempt on one node: an
            // operator counts reconnections, and the fault suite waits for it.
            options.log.warn(
              { rabbitmq: nodes[plan.index], role, attempts: n, ms: Date.now() - startedAt },
              'rabbitmq reconnected',
            );
          },
          (err: unknown) => {
            if (closing) return;
            options.log.warn(
              {
                rabbitmq: nodes[plan.index],
                role,
                attempt: n,
                reason: err instanceof Error ? err.message : String(err),
              },
              'could not reconnect to rabbitmq; trying the next node',
            );
            attempt(n + 1);
          },
        );
      }, plan.delayMs);
    };
    attempt(1);
  }

  let nextStart = 0;
  await retryUntilReachable(() => openNode(nextStart++ % urls.length), {
    service: 'RabbitMQ',
    where,
    hint: RABBITMQ_START_HINT,
    log: options.log,
    timeoutMs: options.startupTimeoutMs,
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
      if (reconnectTimer) clearTimeout(reconnectTimer);
      const open = model;
      current = null;
      model = null;
      await open?.close().catch(() => undefined);
    },
  };
}
