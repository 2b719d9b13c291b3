import amqp from 'amqplib';
import type { ChannelModel, ConfirmChannel, Options } from 'amqplib';
import { redactUrl } from '../config.js';
import { ConfirmTimeoutError } from '../errors.js';
import type { LogSink } from '../logger.js';
import { retryUntilReachable } from '../reachability.js';

export const RABBITMQ_START_HINT =
  'start it with `docker compose up -d rabbitmq`, or `rabbitmq-server -detached`, or set RABBITMQ_URL';

export interface AmqpOptions {
  url: string;
  log: LogSink;
  startupTimeoutMs: number;
  /**
   * Runs after every (re)connect with a fresh confirm channel: declare the
   * topology and start consumers here. Channels do not survive a reconnect.
   */
  setup: (channel: ConfirmChannel, connection: ChannelModel) => Promise<void>;
}

/** A RabbitMQ connection that comes back by itself after the broker restarts. */
export interface AmqpHandle {
  /** The current confirm channel, or null while disconnected. */
  channel(): ConfirmChannel | null;
  close(): Promise<void>;
}

/**
 * Connects with publisher confirms. Start-up retries for a bounded time
 * (p-retry) with a message that says how to start RabbitMQ; once connected,
 * amqplib's own recovery reconnects forever and `setup` runs again.
 */
export async function connectAmqp(options: AmqpOptions): Promise<AmqpHandle> {
  const where = redactUrl(options.url);
  let current: ConfirmChannel | null = null;
  let closing = false;

  const connectOptions = {
    recovery: {
      initialMaxRetries: 0,
      maxRetries: Number.POSITIVE_INFINITY,
      initialDelay: 200,
      maxDelay: 2000,
      async setup(model: ChannelModel) {
        const channel = await model.createConfirmChannel();
        channel.on('error', (err: Error) => options.log.warn({ err }, 'amqp channel error'));
        channel.on('close', () => {
          if (current === channel) current = null;
        });
        await options.setup(channel, model);
        current = channel;
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

  connection.on('error', (err: Error) => options.log.warn({ err, rabbitmq: where }, 'amqp connection error'));
  connection.on('disconnect', (err?: Error) => {
    current = null;
    if (!closing) options.log.warn({ rabbitmq: where, reason: err?.message }, 'rabbitmq connection lost; reconnecting');
  });
  connection.on('connect', () => options.log.info({ rabbitmq: where }, 'rabbitmq connected'));

  return {
    channel: () => current,
    async close() {
      closing = true;
      await connection.close().catch(() => undefined);
      current = null;
    },
  };
}

/**
 * Publishes one persistent message and resolves when the broker has confirmed
 * it (written to disk for a durable queue). Rejects when disconnected, when the
 * broker nacks, or when no confirm arrives in `timeoutMs`. An empty `exchange`
 * is the default exchange, which routes by queue name.
 */
export function publishConfirmed(
  channel: ConfirmChannel | null,
  target: { exchange?: string; queue: string },
  content: Buffer,
  timeoutMs: number,
  properties: Options.Publish = {},
): Promise<void> {
  if (!channel) return Promise.reject(new Error('RabbitMQ is not connected'));
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new ConfirmTimeoutError(timeoutMs)), timeoutMs);
    try {
      channel.publish(
        target.exchange ?? '',
        target.queue,
        content,
        { persistent: true, contentType: 'application/json', ...properties },
        (err) => {
          clearTimeout(timer);
          if (err) reject(err instanceof Error ? err : new Error('message nacked by the broker'));
          else resolve();
        },
      );
    } catch (err) {
      clearTimeout(timer);
      reject(err);
    }
  });
}
