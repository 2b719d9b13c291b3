/**
 * The BullMQ build (issue 16): what a Node user would write instead of relay,
 * for `pnpm bench` to measure relay against. One process: a BullMQ Queue
 * behind a node:http intake (POST /jobs, relay's job body, 202 once the job
 * is in Redis), and a BullMQ Worker, concurrency 64, that calls the target
 * with undici, retries a failed call with BullMQ's exponential backoff, and
 * POSTs the callback. Finished jobs are kept 24 h.
 *
 * It uses Redis only: with Redis unpersisted (as on the benchmark machine) a
 * Redis crash loses every queued job, where relay's copy on the broker
 * survives. It promises less than relay does.
 *
 * POST /reset removes finished jobs (between measures, not timed).
 * Env: BULLMQ_PREFIX (keys `<prefix>:bull:*`), REDIS_URL. Listens on
 * 127.0.0.1, port 0, and prints `{"port":N}`. SIGTERM obliterates the queue.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Queue, Worker, type Job } from 'bullmq';
import { Agent, request } from 'undici';

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD';

interface JobBody {
  targetUrl: string;
  method?: string;
  payload?: unknown;
  callbackUrl?: string;
  timeout?: number;
  maxRetries?: number;
  retryDelay?: number;
}

const DAY_SECONDS = 86_400;
const CONCURRENCY = 64;
const NAME = 'calls';

const redisUrl = new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const connection = {
  host: redisUrl.hostname,
  port: Number(redisUrl.port || 6379),
  // BullMQ's workers block on Redis and need every command to wait out a reconnect.
  maxRetriesPerRequest: null,
  noDelay: true,
};
const prefix = `${process.env.BULLMQ_PREFIX ?? `bullmq-${randomUUID().slice(0, 8)}`}:bull`;
const queue = new Queue<JobBody>(NAME, { connection, prefix });
const agent = new Agent({ connections: CONCURRENCY, keepAliveTimeout: 4000, connect: { noDelay: true } });

/** relay's defaults, so both make the same number of attempts. */
const options = (body: JobBody) => ({
  attempts: 1 + (body.maxRetries ?? 3),
  backoff: { type: 'exponential', delay: body.retryDelay ?? 1000 },
  removeOnComplete: { age: DAY_SECONDS },
  removeOnFail: { age: DAY_SECONDS },
});

const server = http.createServer({ noDelay: true, keepAliveTimeout: 5000 }, (req, res) => {
  if (req.method === 'POST' && req.url === '/reset') {
    req.resume();
    clearFinished().then(
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
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as JobBody;
    queue.add(NAME, body, options(body)).then(
      (job) => {
        res.writeHead(202, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ jobId: job.id, status: 'queued' }));
      },
      () => res.writeHead(503).end(),
    );
  });
});

async function clearFinished(): Promise<void> {
  for (const type of ['completed', 'failed'] as const) {
    while ((await queue.clean(0, 10_000, type)).length > 0);
  }
}

/** Thrown for a failed call that has attempts left: BullMQ schedules the retry. */
class RetryableCall extends Error {}

async function postCallback(job: Job<JobBody>, result: Record<string, unknown>): Promise<void> {
  if (!job.data.callbackUrl) return;
  const res = await request(job.data.callbackUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jobId: job.id, attempts: job.attemptsMade + 1, ...result }),
    dispatcher: agent,
    headersTimeout: 10_000,
    bodyTimeout: 10_000,
  });
  await res.body.dump();
  // A refused callback fails the job, and BullMQ retries it (target call included).
  if (res.statusCode >= 300) throw new Error(`callback answered ${res.statusCode}`);
}

async function callAndReport(job: Job<JobBody>): Promise<Record<string, unknown>> {
  const { targetUrl, payload } = job.data;
  const method = (job.data.method ?? 'GET') as Method;
  const timeout = job.data.timeout ?? 10_000;
  const hasBody = method !== 'GET' && method !== 'HEAD' && payload !== undefined && payload !== null;
  let statusCode: number | null = null;
  let body: unknown = null;
  let error: string | null = null;
  try {
    const res = await request(targetUrl, {
      method,
      headers: hasBody ? { 'content-type': 'application/json' } : {},
      body: hasBody ? JSON.stringify(payload) : null,
      dispatcher: agent,
      headersTimeout: timeout,
      bodyTimeout: timeout,
    });
    statusCode = res.statusCode;
    const text = await res.body.text();
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
  } catch (err) {
    error = (err as Error).message;
  }
  const success = statusCode !== null && statusCode < 400;
  const retryable = !success && (statusCode === null || statusCode >= 500 || statusCode === 429);
  if (retryable && job.attemptsMade + 1 < (job.opts.attempts ?? 1)) {
    throw new RetryableCall(error ?? `target answered ${statusCode}`);
  }
  const result = {
    status: success ? 'completed' : 'failed',
    success,
    statusCode,
    response: statusCode === null ? null : { statusCode, body },
    error,
    completedAt: new Date().toISOString(),
    targetUrl,
    method,
  };
  await postCallback(job, result);
  return result;
}

const worker = new Worker<JobBody>(NAME, callAndReport, { connection, prefix, concurrency: CONCURRENCY });
await Promise.all([queue.waitUntilReady(), worker.waitUntilReady()]);

server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
});

process.once('SIGTERM', () => {
  server.closeAllConnections();
  server.close();
  void (async () => {
    await worker.close(true).catch(() => {});
    await queue.obliterate({ force: true }).catch(() => {});
    await Promise.allSettled([queue.close(), agent.close()]);
    process.exit(0);
  })();
});
