import amqp from 'amqplib';
import type { ChannelModel, ConfirmChannel } from 'amqplib';
import { coalesceFrameWrites } from './coalesce-writes.js';
import type { AmqpHandle, AmqpOptions } from './amqp-handle.js';
import { redactUrl } from '../config-fields.js';
import { retryUntilReachable } from '../reachability.js';
import { ConfirmTimeoutError } from '../errors.js';
import {
  answeredSince,
  failPendingPublishes,
  nackingSince,
  publishConfirmed,
  PublishBlockedError,
  PublishNackedError,
} from './publish.js';
import { channelReopenDelay, reconnectPlan } from './reconnect-plan.js';

export const RABBITMQ_START_HINT =
  'start it with `docker compose -p relay-dev -f docker/dev-brokers.yml up -d rabbitmq`, or `rabbitmq-server -detached`, or set RABBITMQ_URL';

/** A node that neither accepts nor refuses (a partition, a hung host) is given up on after this long. */
const CONNECT_TIMEOUT_MS = 5000;
/** Unroutable returns come in bursts (every publish to a deleted queue): one redeclare per burst is enough. */
const REDECLARE_MIN_INTERVAL_MS = 1000;

/**
 * A channel whose every publish the broker has nacked for this long is
 * broken, not busy. Seen on RabbitMQ 3.10: a channel opened on a surviving
 * node while the leader of a quorum queue was stopping got a nack for every
 * publish to that queue until the old leader came back, while a new channel
 * would have been confirmed (e2e/ha/rabbitmq-leader.ha.ts).
 */
export const NACKING_CHANNEL_MS = 1000;
/**
 * At most one recovery from nacks (a reopened channel, a node left) per this
 * long: a queue that is really full (x-overflow reject-publish) nacks on every
 * channel and node, and must not make the connection churn.
 */
const NACK_RECOVERY_MIN_INTERVAL_MS = 5000;
/** Nacks again on a channel reopened for nacks this recently leave the node; later ones start over with a reopen. */
const NACK_ESCALATION_WINDOW_MS = 30_000;

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
  /** Which of `urls` the live connection (`model`) goes to. */
  let modelIndex = 0;

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
    // noDelay: amqplib leaves Nagle on, under which a small write (an ack, a
    // confirm) may wait for the peer's delayed ACK. Measured here it changed
    // nothing (amqplib writes a publish's frames as one buffer); kept as a
    // guard (docs/benchmarks.md, "Fairness: put-backs against local waits").
    const next = await amqp.connect(withHeartbeat(urls[index]!), { timeout: CONNECT_TIMEOUT_MS, noDelay: true });
    if (!coalesceFrameWrites(next)) {
      options.log.warn({ rabbitmq: nodes[index], role }, 'amqplib internals changed: frame writes are not coalesced');
    }
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
    modelIndex = index;
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

  /**
   * Drops the connection `stalled` (the 'close' handler then reconnects to the
   * next node), failing the publishes still waiting on `channel` as timed out:
   * they were sent, and whether the broker has them is unknown.
   */
  function leaveNode(stalled: ChannelModel, channel: ConfirmChannel, why: string): void {
    failPendingPublishes(channel, new ConfirmTimeoutError(`no publisher confirm: ${why}`));
    current = null;
    // Destroying the socket is what amqplib does itself when a heartbeat
    // times out: close() would send connection.close and wait for a
    // close-ok such a node may not send.
    const socket = (stalled.connection as { stream?: { destroy(err?: Error): void } }).stream;
    if (socket) socket.destroy(new Error(why));
    else void stalled.close().catch(() => undefined);
  }

  /** When the last recovery from nacks was, and the last channel reopened for nacks: on which connection, when. */
  let lastNackRecovery = 0;
  let nackReopened: { on: ChannelModel; at: number } | null = null;

  let nextStart = 0;
  await retryUntilReachable(() => openNode(nextStart++ % urls.length), {
    service: 'RabbitMQ',
    where,
    hint: RABBITMQ_START_HINT,
    log: options.log,
    timeoutMs: options.startupTimeoutMs,
  });

  const handle: AmqpHandle = {
    channel: () => current,
    connection: () => model,
    blockedReason: () => blocked,
    publishChannel() {
      if (blocked !== null && options.failFastWhenBlocked) throw new PublishBlockedError(blocked);
      return current;
    },
    publishTimedOut(channel, sentAt) {
      const stalled = model;
      if (!options.leaveStalledNode || !stalled || channel !== current || answeredSince(channel, sentAt)) return false;
      options.log.warn(
        { rabbitmq: nodes[modelIndex], role, silentMs: Date.now() - sentAt },
        'rabbitmq answered no publish for a whole publish timeout; leaving the node for the next one',
      );
      leaveNode(stalled, channel, 'the node was left as stalled');
      return true;
    },
    publishNacked(channel) {
      const owner = model;
      const since = nackingSince(channel);
      const now = Date.now();
      if (!owner || channel !== current || since === null || now - since < NACKING_CHANNEL_MS) return false;
      if (now - lastNackRecovery < NACK_RECOVERY_MIN_INTERVAL_MS) return false;
      lastNackRecovery = now;
      // A reopened channel nacked again soon after: the node, not the channel.
      if (nackReopened?.on === owner && now - nackReopened.at < NACK_ESCALATION_WINDOW_MS) {
        nackReopened = null;
        options.log.warn(
          { rabbitmq: nodes[modelIndex], role, nackingMs: now - since },
          'rabbitmq nacks every publish on a reopened channel too; leaving the node for the next one',
        );
        leaveNode(owner, channel, 'the node nacked every publish');
        return true;
      }
      nackReopened = { on: owner, at: now };
      // The channel's pending publishes fail as timed out: their fate is unknown.
      failPendingPublishes(channel, new ConfirmTimeoutError('no publisher confirm: the channel was reopened'));
      current = null;
      void channel.close().catch(() => undefined);
      reopen(owner, `every publish nacked for ${now - since} ms`);
      return true;
    },
    async publish(target, content, timeoutMs, properties = {}) {
      const channel = handle.publishChannel();
      const sentAt = Date.now();
      try {
        await publishConfirmed(channel, target, content, timeoutMs, properties);
      } catch (err) {
        if (channel && err instanceof ConfirmTimeoutError) handle.publishTimedOut(channel, sentAt);
        else if (channel && err instanceof PublishNackedError) handle.publishNacked(channel);
        throw err;
      }
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
  return handle;
}
