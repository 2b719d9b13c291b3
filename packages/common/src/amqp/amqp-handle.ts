import type { ChannelModel, ConfirmChannel, Options } from 'amqplib';
import type { LogSink } from '../logger.js';

/** What connectAmqp takes and gives: the contract of relay's RabbitMQ connections (connection.ts). */

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
  /**
   * When a publish times out on a channel the broker has answered nothing on
   * since that publish was sent (publishTimedOut), drop the connection and go
   * on to the next node, failing the publishes still waiting there as timed
   * out. Without it, a node that keeps the connection open but answers
   * nothing (a node stopping, hung, or a half-open link) holds every publish
   * until the heartbeat gives up on it, 20-30 s. Right for a publisher; a
   * consumer's in-flight messages would be redelivered.
   * @defaultValue false
   */
  leaveStalledNode?: boolean;
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
  /**
   * Tells the handle that a publish sent on `channel` at `sentAt` (epoch ms)
   * got no confirm in time. With `leaveStalledNode`, when `channel` is still
   * the current one and the broker answered nothing on it since `sentAt`,
   * the connection is dropped and the next node tried; returns whether it was.
   */
  publishTimedOut(channel: ConfirmChannel, sentAt: number): boolean;
  /**
   * Tells the handle that a publish on `channel` was nacked. When `channel` is
   * the current one and the broker has nacked every publish on it for
   * NACKING_CHANNEL_MS, the channel is reopened; when the reopened channel
   * does the same within 30 s, the node is left for the next one. At most
   * one of either per 5 s. Returns whether either was done.
   */
  publishNacked(channel: ConfirmChannel): boolean;
  /**
   * publishConfirmed on publishChannel(), telling the handle about a timeout
   * or a nack (publishTimedOut, publishNacked) before it rethrows: the one way
   * relay's processes publish.
   */
  publish(
    target: { exchange?: string; queue: string },
    content: Buffer,
    timeoutMs: number,
    properties?: Options.Publish,
  ): Promise<void>;
  close(): Promise<void>;
}
