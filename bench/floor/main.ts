/**
 * The durable floor (issue 16): the least code that keeps relay's promises
 * with relay's parts, in one process, for `pnpm bench` to measure relay
 * against.
 *
 * Intake, POST /jobs (relay's job body): one Redis round trip writes the job
 * with its TTL, then a persistent publish to a durable queue of relay's type;
 * the 202 goes out once the broker has confirmed the publish. So an accepted
 * job survives a crash of this process, as relay's does.
 *
 * Worker: prefetch 64, manual ack after the work: mark the job running, call
 * the target, record the attempt and the status (TTLs), POST the callback,
 * record it, ack. A job whose work fails on Redis or AMQP is requeued,
 * never dropped.
 *
 * Left out on purpose: validation, auth, retries, signing, metrics, logs.
 * POST /reset deletes the floor's keys (between measures, not timed).
 *
 * Env: FLOOR_PREFIX (keys `<prefix>:floor:*`, queue `<prefix>.floor.jobs`),
 * RABBITMQ_URL, REDIS_URL, RELAY_QUEUE_TYPE (quorum by default, as relay).
 * Listens on 127.0.0.1, port 0, and prints `{"port":N}`. SIGTERM deletes the
 * queue and the keys, then exits.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import amqp, { type ConsumeMessage } from 'amqplib';
import { Redis } from 'ioredis';
import { Agent, request } from 'undici';
import { floorKeys, FloorStore, type FloorJob } from './store.js';

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD';

const prefix = process.env.FLOOR_PREFIX ?? `floor-${randomUUID().slice(0, 8)}`;
const queue = `${prefix}.floor.jobs`;
const queueType = process.env.RELAY_QUEUE_TYPE ?? 'quorum';
/** relay's WORKER_CONCURRENCY default: the messages a worker holds unacked. */
const PREFETCH = 64;

// Nagle's algorithm on any of these sockets holds small writes back for an
// ACK: a first sketch of this floor had a p50 of 22 ms at 200 jobs/s with it
// on the AMQP socket. ioredis sets noDelay by default; it is explicit here.
const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { noDelay: true });
const store = new FloorStore(redis, floorKeys(prefix));
const url = process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
// Publishing and consuming on separate connections, so that the broker's
// flow control on one (credit on publishes) never stalls the other's acks.
const publishConn = await amqp.connect(url, { noDelay: true });
const consumeConn = await amqp.connect(url, { noDelay: true });
const publisher = await publishConn.createConfirmChannel();
const consumer = await consumeConn.createChannel();
await publisher.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': queueType } });
await consumer.prefetch(PREFETCH);
const agent = new Agent({ connections: PREFETCH, keepAliveTimeout: 4000, connect: { noDelay: true } });

const iso = () => new Date().toISOString();

/** Resolves once the broker has confirmed the persistent message (it is on disk, or on a quorum's majority). */
function publish(content: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    publisher.sendToQueue(queue, content, { persistent: true, contentType: 'application/json' }, (err) =>
      err ? reject(err as Error) : resolve(),
    );
  });
}

async function accept(body: string): Promise<string> {
  const job = { ...(JSON.parse(body) as Omit<FloorJob, 'jobId'>), jobId: randomUUID() };
  const spec = JSON.stringify(job);
  await store.accept(job, spec, iso());
  await publish(Buffer.from(spec));
  return job.jobId;
}

const server = http.createServer({ noDelay: true, keepAliveTimeout: 5000 }, (req, res) => {
  if (req.method === 'POST' && req.url === '/reset') {
    req.resume();
    store.clear().then(
      () => res.writeHead(204).end(),
      () => res.writeHead(500).end(),
    );
    return;
  }
  if (req.method !== 'POST' || req.url !== '/jobs') {
    res.writeHead(404).end();
    return;
  }
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    accept(Buffer.concat(chunks).toString('utf8')).then(
      (jobId) => {
        res.writeHead(202, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ jobId, status: 'queued' }));
      },
      () => res.writeHead(503).end(),
    );
  });
});

interface CallResult {
  statusCode: number | null;
  body: unknown;
  error: string | null;
}

async function callTarget(job: FloorJob): Promise<CallResult> {
  const method = (job.method ?? 'GET') as Method;
  const timeout = job.timeout ?? 10_000;
  const hasBody = method !== 'GET' && method !== 'HEAD' && job.payload !== undefined && job.payload !== null;
  try {
    const res = await request(job.targetUrl, {
      method,
      headers: hasBody ? { 'content-type': 'application/json' } : {},
      body: hasBody ? JSON.stringify(job.payload) : null,
      dispatcher: agent,
      headersTimeout: timeout,
      bodyTimeout: timeout,
    });
    const text = await res.body.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // Not JSON: kept as text.
    }
    return { statusCode: res.statusCode, body, error: null };
  } catch (err) {
    return { statusCode: null, body: null, error: (err as Error).message };
  }
}

/** POSTs the callback once; the outcome is recorded, not retried. */
async function postCallback(callbackUrl: string, payload: string): Promise<string> {
  try {
    const res = await request(callbackUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: payload,
      dispatcher: agent,
      headersTimeout: 10_000,
      bodyTimeout: 10_000,
    });
    await res.body.dump();
    return `HTTP ${res.statusCode}`;
  } catch (err) {
    return (err as Error).message;
  }
}

async function work(msg: ConsumeMessage): Promise<void> {
  const job = JSON.parse(msg.content.toString('utf8')) as FloorJob;
  const startedAt = iso();
  await store.markRunning(job.jobId, startedAt);
  const result = await callTarget(job);
  const success = result.statusCode !== null && result.statusCode >= 200 && result.statusCode < 300;
  const status = success ? 'completed' : 'failed';
  const completedAt = iso();
  await store.recordAttempt(job.jobId, JSON.stringify({ ...result, startedAt, completedAt }), status, completedAt);
  if (job.callbackUrl) {
    const outcome = await postCallback(
      job.callbackUrl,
      JSON.stringify({
        jobId: job.jobId,
        status,
        success,
        attempts: 1,
        statusCode: result.statusCode,
        response: result.statusCode === null ? null : { statusCode: result.statusCode, body: result.body },
        error: result.error,
        completedAt,
        targetUrl: job.targetUrl,
        method: job.method ?? 'GET',
      }),
    );
    await store.recordCallback(job.jobId, outcome, iso());
  }
}

await consumer.consume(
  queue,
  (msg) => {
    if (!msg) return; // the queue was deleted
    // Ack only after the work: a crash before it leaves the message to be redelivered.
    work(msg).then(
      () => consumer.ack(msg),
      () => consumer.nack(msg, false, true),
    );
  },
  { noAck: false },
);

server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
});

process.once('SIGTERM', () => {
  server.closeAllConnections();
  server.close();
  void (async () => {
    await consumer.close().catch(() => {});
    await publisher.deleteQueue(queue).catch(() => {});
    await store.clear().catch(() => {});
    await Promise.allSettled([publishConn.close(), consumeConn.close(), agent.close()]);
    redis.disconnect();
    process.exit(0);
  })();
});
