import type { Writable } from 'node:stream';

/**
 * amqplib queues every frame a channel sends (a publish, an ack) as its own
 * chunk and, once per event-loop turn, its multiplexer writes the queued
 * chunks to the socket one `write()` at a time: one system call per publish
 * or ack, and one TCP segment for RabbitMQ to read for each. Corking the
 * socket around that loop sends the turn's frames in one `writev`. Measured
 * with `bench/throughput.ts 10000 64`, alternated: RabbitMQ's CPU per job
 * 304 and 360 µs without, 246 and 250 µs with (docs/benchmarks.md, "What
 * each change bought"). The order of frames is unchanged, and nothing waits
 * longer than the turn it was queued in.
 *
 * amqplib has no option for it, so this wraps the multiplexer's read loop,
 * a private part; the shape is checked first, and a test
 * (test/amqp/coalesce-writes.test.ts) fails if an amqplib upgrade changes it.
 */
interface Muxer {
  out: Writable;
  _readIncoming(): void;
}

function muxerOf(model: unknown): Muxer | null {
  const muxer = (model as { connection?: { muxer?: Partial<Muxer> } } | null)?.connection?.muxer;
  if (!muxer || typeof muxer._readIncoming !== 'function') return null;
  const out = muxer.out;
  if (!out || typeof out.cork !== 'function' || typeof out.uncork !== 'function') return null;
  return muxer as Muxer;
}

/** Whether the connection's frame writes are now coalesced (false: amqplib's internals are not as expected). */
export function coalesceFrameWrites(model: unknown): boolean {
  const muxer = muxerOf(model);
  if (!muxer) return false;
  const readIncoming = muxer._readIncoming.bind(muxer);
  muxer._readIncoming = () => {
    muxer.out.cork();
    try {
      readIncoming();
    } finally {
      muxer.out.uncork();
    }
  };
  return true;
}
