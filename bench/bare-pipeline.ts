/**
 * The floor: the least a relay can do, written for the benchmark. Accepts
 * POST /jobs (the same JSON body as relay's POST /api/jobs), answers 202 with
 * a job id, calls the target with undici, and POSTs the result to the
 * callback URL. No broker, no store, no retries, no validation beyond
 * JSON.parse: whatever relay does on top of this is what its durability and
 * features cost. Listens on 127.0.0.1, port 0, and prints `{"port":N}`.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent, request } from 'undici';

interface BareJob {
  targetUrl: string;
  method?: string;
  payload?: unknown;
  callbackUrl?: string;
  timeout?: number;
}

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD';

// The same outbound pool as relay's worker (packages/worker/src/worker.ts):
// keep-alive, as many connections per origin as a worker has slots (64).
const agent = new Agent({ connections: 64, keepAliveTimeout: 4000 });

const server = http.createServer((req, res) => {
  if (req.method !== 'POST' || req.url !== '/jobs') {
    res.writeHead(404).end();
    return;
  }
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    let job: BareJob;
    try {
      job = JSON.parse(Buffer.concat(chunks).toString('utf8')) as BareJob;
    } catch {
      res.writeHead(400).end();
      return;
    }
    const jobId = randomUUID();
    res.writeHead(202, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ jobId, status: 'queued' }));
    void run(jobId, job);
  });
});
server.keepAliveTimeout = 5000;

async function run(jobId: string, job: BareJob): Promise<void> {
  const method = (job.method ?? 'GET') as Method;
  const timeout = job.timeout ?? 10_000;
  let statusCode: number | null = null;
  let body: unknown = null;
  let error: string | null = null;
  try {
    const hasBody = method !== 'GET' && method !== 'HEAD' && job.payload !== undefined && job.payload !== null;
    const res = await request(job.targetUrl, {
      method,
      headers: hasBody ? { 'content-type': 'application/json' } : {},
      body: hasBody ? JSON.stringify(job.payload) : null,
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
  if (!job.callbackUrl) return;
  const success = statusCode !== null && statusCode >= 200 && statusCode < 300;
  try {
    const res = await request(job.callbackUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        jobId,
        status: success ? 'completed' : 'failed',
        success,
        attempts: 1,
        statusCode,
        response: statusCode === null ? null : { statusCode, body },
        error,
        completedAt: new Date().toISOString(),
        targetUrl: job.targetUrl,
        method,
      }),
      dispatcher: agent,
      headersTimeout: 10_000,
      bodyTimeout: 10_000,
    });
    await res.body.dump();
  } catch {
    // No retries: a lost callback shows up as a job that never completes.
  }
}

server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
});
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => void agent.close().then(() => process.exit(0)));
});
