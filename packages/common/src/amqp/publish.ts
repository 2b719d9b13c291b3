import type { ConfirmChannel, Message, Options } from 'amqplib';
import { ConfirmTimeoutError } from '../errors.js';

/**
 * Confirmed, mandatory publishing. Every publish is `mandatory`: a message no
 * queue takes (its queue was deleted) comes back as basic.return, which the
 * broker sends before the basic.ack of that same message. A returned message
 * is a failure, never a success: a confirm alone only says the broker handled
 * the message, not that a queue holds it.
 */

/** The broker returned the message: no queue was bound to take it. */
export class MessageReturnedError extends Error {
  constructor(
    readonly exchange: string,
    readonly routingKey: string,
    readonly replyText: string,
  ) {
    super(
      `message returned by the broker (${replyText}): no queue for '${routingKey}' on '${exchange || '(default)'}'`,
    );
    this.name = 'MessageReturnedError';
  }
}

/** The connection is blocked by a broker alarm (memory or disk): the publish would wait until it clears. */
export class PublishBlockedError extends Error {
  constructor(reason: string) {
    super(`RabbitMQ blocks publishing (${reason})`);
    this.name = 'PublishBlockedError';
  }
}

/** The broker refused the message (basic.nack): a queue could not take it, and it is not enqueued. */
export class PublishNackedError extends Error {
  constructor() {
    super('message nacked by the broker');
    this.name = 'PublishNackedError';
  }
}

/**
 * The header that ties a returned message to its publish. Ids are unique per
 * process; a message published again by another process gets a new one.
 */
export const PUBLISH_ID_HEADER = 'x-relay-publish-id';

interface Pending {
  returned: MessageReturnedError | null;
  fail: (err: Error) => void;
}

/** Publishes awaiting their confirm, per channel, by publish id. */
const pendingByChannel = new WeakMap<ConfirmChannel, Map<string, Pending>>();
let nextId = 0;
/** When each channel last had a publish confirmed or refused by the broker (epoch ms). */
const lastAnswerByChannel = new WeakMap<ConfirmChannel, number>();

/**
 * Whether the broker has answered (confirmed or refused) any publish on
 * `channel` at or after `since` (epoch ms). A publish that timed out on a
 * channel that had no answer at all since it was sent points at a node
 * that stopped answering, not at one slow message.
 */
export function answeredSince(channel: ConfirmChannel, since: number): boolean {
  return (lastAnswerByChannel.get(channel) ?? 0) >= since;
}

/**
 * Since when (epoch ms) every answer the broker gave on each channel has been
 * a nack; absent once a publish there is confirmed.
 */
const nackingSinceByChannel = new WeakMap<ConfirmChannel, number>();

/**
 * Since when (epoch ms) the broker has refused every publish on `channel`
 * that it answered, or null when its last answer was a confirm (or it has
 * given none). A channel that only gets nacks for a while is broken, not
 * busy (connection.ts, publishNacked).
 */
export function nackingSince(channel: ConfirmChannel): number | null {
  return nackingSinceByChannel.get(channel) ?? null;
}

function pendingOf(channel: ConfirmChannel): Map<string, Pending> {
  let pending = pendingByChannel.get(channel);
  if (!pending) {
    const map = new Map<string, Pending>();
    pending = map;
    pendingByChannel.set(channel, map);
    channel.on('return', (msg: Message) => {
      const id = msg.properties.headers?.[PUBLISH_ID_HEADER];
      const entry = typeof id === 'string' ? map.get(id) : undefined;
      if (entry) {
        const fields = msg.fields as Message['fields'] & { replyText?: string };
        entry.returned = new MessageReturnedError(fields.exchange, fields.routingKey, fields.replyText ?? 'unroutable');
      }
    });
  }
  return pending;
}

/**
 * Fails every publish on `channel` still waiting for its confirm. Used when the
 * connection gets blocked: those confirms would come only after the alarm, so
 * the caller learns now what it would learn at the timeout. The messages may
 * still reach the queue when the alarm clears (like a confirm that is late).
 */
export function failPendingPublishes(channel: ConfirmChannel, err: Error): number {
  const pending = pendingByChannel.get(channel);
  if (!pending) return 0;
  const entries = [...pending.values()];
  for (const entry of entries) entry.fail(err);
  return entries.length;
}

/**
 * Publishes one persistent, mandatory message and resolves when the broker has
 * confirmed it (written to disk for a durable queue). Rejects when
 * disconnected, when the broker nacks (PublishNackedError) or returns it (MessageReturnedError),
 * when the publishes on the channel are failed (failPendingPublishes), or when
 * no confirm arrives in `timeoutMs`. An empty `exchange` is the default
 * exchange, which routes by queue name.
 */
export function publishConfirmed(
  channel: ConfirmChannel | null,
  target: { exchange?: string; queue: string },
  content: Buffer,
  timeoutMs: number,
  properties: Options.Publish = {},
): Promise<void> {
  if (!channel) return Promise.reject(new Error('RabbitMQ is not connected'));
  const pending = pendingOf(channel);
  const id = String(++nextId);
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    const finish = (err: Error | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      pending.delete(id);
      if (err) reject(err);
      else resolve();
    };
    const entry: Pending = { returned: null, fail: finish };
    const timer = setTimeout(
      () => finish(new ConfirmTimeoutError(`no publisher confirm within ${timeoutMs} ms`)),
      timeoutMs,
    );
    pending.set(id, entry);
    try {
      channel.publish(
        target.exchange ?? '',
        target.queue,
        content,
        {
          persistent: true,
          contentType: 'application/json',
          ...properties,
          mandatory: true,
          headers: { ...properties.headers, [PUBLISH_ID_HEADER]: id },
        },
        (err) => {
          const now = Date.now();
          lastAnswerByChannel.set(channel, now);
          if (err) {
            if (!nackingSinceByChannel.has(channel)) nackingSinceByChannel.set(channel, now);
            finish(new PublishNackedError());
          } else {
            nackingSinceByChannel.delete(channel);
            finish(entry.returned);
          }
        },
      );
    } catch (err) {
      finish(err instanceof Error ? err : new Error(String(err)));
    }
  });
}
