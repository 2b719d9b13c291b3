import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import amqp from 'amqplib';
import { RABBITMQ_URL } from '../../support/services.js';

/**
 * Faults injected into the machine's RabbitMQ for the AMQP scenarios: a
 * channel closed by the broker, a queue deleted, a memory alarm. Each leaves
 * the broker as it found it (the alarm's watermark is read first and put back).
 */

const run = promisify(execFile);

async function rabbitEval(expression: string): Promise<string> {
  const { stdout } = await run('rabbitmqctl', ['eval', expression], { timeout: 60_000 });
  return stdout.trim();
}

/**
 * Makes the broker close, with a channel error, every channel that consumes
 * from `queue`, while their connections stay up. It hands each consumer's
 * channel process a basic.ack for a delivery tag it never sent, as if the
 * client had: the broker answers with channel.close 406 PRECONDITION_FAILED
 * "unknown delivery tag", the same close a consumer_timeout or a double ack
 * causes. Returns how many channels it hit.
 */
export async function closeConsumerChannels(queue: string): Promise<number> {
  const out = await rabbitEval(
    `{ok, Q} = rabbit_amqqueue:lookup(rabbit_misc:r(<<"/">>, queue, <<"${queue}">>)), ` +
      `Cs = rabbit_amqqueue:consumers(Q), ` +
      `[gen_server2:cast(element(1, C), {method, {'basic.ack', 987654321, false}, none, noflow}) || C <- Cs], ` +
      `length(Cs).`,
  );
  return Number(out.split('\n').at(-1));
}

/**
 * Deletes `queue` as soon as it holds no ready message (retried), so that the
 * deletion drops no job: the scenario is about the consumer's recovery.
 * Messages that are delivered and not yet acked stay with their consumer.
 * Quorum queues refuse `queue.delete` with if-empty (NOT_IMPLEMENTED on 3.10),
 * so the count is checked first: a message published in the millisecond
 * between the check and the delete would be dropped, and the reconciler
 * repairs that job from its deadline (the scenario's "none lost" covers it).
 * Returns the attempts it took.
 */
export async function deleteQueueWhenEmpty(queue: string, timeoutMs = 10_000): Promise<number> {
  const conn = await amqp.connect(RABBITMQ_URL);
  conn.on('error', () => undefined);
  try {
    const deadline = Date.now() + timeoutMs;
    for (let attempt = 1; ; attempt++) {
      const ch = await conn.createChannel();
      ch.on('error', () => undefined);
      try {
        const { messageCount } = await ch.checkQueue(queue);
        if (messageCount === 0) {
          await ch.deleteQueue(queue);
          await ch.close().catch(() => undefined);
          return attempt;
        }
        await ch.close().catch(() => undefined);
        if (Date.now() > deadline) throw new Error(`${queue} still held ${messageCount} ready messages`);
        await new Promise((r) => setTimeout(r, 5));
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 5));
      }
    }
  } finally {
    await conn.close().catch(() => undefined);
  }
}

/** The consumers RabbitMQ lists on `queue`. */
export async function consumerCount(queue: string): Promise<number> {
  const conn = await amqp.connect(RABBITMQ_URL);
  try {
    const ch = await conn.createChannel();
    ch.on('error', () => undefined);
    return (await ch.checkQueue(queue)).consumerCount;
  } catch {
    return 0;
  } finally {
    await conn.close().catch(() => undefined);
  }
}

/** The node's memory high watermark as `rabbitmqctl set_vm_memory_high_watermark` takes it back. */
export async function memoryWatermark(): Promise<string[]> {
  const value = (await rabbitEval('vm_memory_monitor:get_vm_memory_high_watermark().')).split('\n').at(-1)!;
  const absolute = /^\{absolute,\s*(\d+)\}$/.exec(value);
  if (absolute) return ['absolute', absolute[1]!];
  if (!/^[0-9.]+$/.test(value)) throw new Error(`unexpected watermark: ${value}`);
  return [value];
}

export async function setMemoryWatermark(args: string[]): Promise<void> {
  await run('rabbitmqctl', ['set_vm_memory_high_watermark', ...args], { timeout: 60_000 });
}

/** True while the node raises a memory alarm. */
export async function memoryAlarmOn(): Promise<boolean> {
  return (await rabbitEval('rabbit_alarm:get_alarms().')).includes('memory');
}
