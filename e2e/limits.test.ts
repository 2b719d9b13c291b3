import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { TestServer } from './support/http-servers.js';
import { startStack, type Stack } from './support/stack.js';
import { waitFor } from './support/services.js';

/**
 * Hostile targets cannot exhaust a worker. At the same time, against one real
 * worker: targets streaming a 1 GiB body (cut at the stored cap: the worker
 * closes the socket, so the server only gets to write what the socket
 * buffers took), targets that never answer and targets that trickle a byte
 * every 500 ms (both ended by the attempt's deadline, the first clamped by
 * ATTEMPT_TIMEOUT_MAX_MS), and healthy jobs that keep completing. The
 * worker's resident memory, read from its /metrics, stays bounded.
 */
const GIB = 1024 ** 3;
const CAP = 65_536; // RESPONSE_BODY_MAX_BYTES default
const CEILING_MS = 1500; // ATTEMPT_TIMEOUT_MAX_MS of this stack

let stack: Stack;
const target = new TestServer();

/** What each 1 GiB response managed to write before the client went away. */
interface Stream {
  written: number;
  socketBytes: number;
  closed: boolean;
}
const streams: Stream[] = [];
const trickles = new Set<NodeJS.Timeout>();

/** Streams 1 GiB generated on the fly, honouring backpressure, until the client goes away. */
function streamGigabyte(res: ServerResponse): void {
  const stream: Stream = { written: 0, socketBytes: 0, closed: false };
  streams.push(stream);
  const socket = res.socket as Socket;
  const chunk = Buffer.alloc(64 * 1024, 'x');
  res.on('close', () => {
    stream.closed = true;
    stream.socketBytes = socket.bytesWritten;
  });
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(GIB) });
  const pump = () => {
    while (!res.destroyed && stream.written < GIB) {
      const n = Math.min(chunk.length, GIB - stream.written);
      stream.written += n;
      if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return void res.once('drain', pump);
    }
    if (!res.destroyed) res.end();
  };
  pump();
}

beforeAll(async () => {
  target.on('/gigabyte', (_req, res) => streamGigabyte(res));
  target.on('/silent', () => {
    // Accepts the request and never answers.
  });
  target.on('/trickle', (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.flushHeaders();
    const timer = setInterval(() => res.write('.'), 500);
    trickles.add(timer);
    res.on('close', () => {
      clearInterval(timer);
      trickles.delete(timer);
    });
  });
  await target.listen();
  stack = await startStack('limits', { env: { ATTEMPT_TIMEOUT_MAX_MS: String(CEILING_MS) } });
});

afterAll(async () => {
  for (const timer of trickles) clearInterval(timer);
  await stack?.stop();
  await target.close();
});

/** One sample of the worker's process_resident_memory_bytes. */
async function workerRss(): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${stack.workers[0]!.metricsPort}/metrics`);
  const line = (await res.text()).split('\n').find((l) => l.startsWith('process_resident_memory_bytes '));
  return Number(line!.split(' ')[1]);
}

it('cuts 1 GiB bodies at the cap, ends silent and trickling targets at the deadline, and keeps memory bounded', async () => {
  // A few healthy jobs first, so the baseline includes a worker that has done work.
  const warm = await Promise.all(Array.from({ length: 5 }, () => stack.api.submitOk({ targetUrl: target.url('/ok') })));
  await Promise.all(warm.map((id) => stack.api.waitFinal(id)));
  const rssBefore = await workerRss();
  let rssPeak = rssBefore;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      rssPeak = Math.max(rssPeak, await workerRss());
      await new Promise((r) => setTimeout(r, 100));
    }
  })();

  const t0 = Date.now();
  const submit = (spec: Record<string, unknown>, n: number) =>
    Promise.all(Array.from({ length: n }, () => stack.api.submitOk(spec)));
  const [gigabyte, silent, trickle, healthy] = await Promise.all([
    submit({ targetUrl: target.url('/gigabyte'), maxRetries: 0, timeout: 10_000 }, 16),
    // timeout 10 s, clamped to the worker's 1.5 s ceiling.
    submit({ targetUrl: target.url('/silent'), maxRetries: 0, timeout: 10_000 }, 4),
    submit({ targetUrl: target.url('/trickle'), maxRetries: 1, retryDelay: 100, timeout: 1000 }, 4),
    submit({ targetUrl: target.url('/ok') }, 50),
  ]);

  // Healthy jobs complete while the hostile ones are still running.
  const healthyJobs = await Promise.all(healthy.map((id) => stack.api.waitFinal(id, 20_000)));
  const healthyDoneMs = Date.now() - t0;
  for (const job of healthyJobs) expect(job).toMatchObject({ status: 'completed', attempts: 1 });

  const gigabyteJobs = await Promise.all(gigabyte.map((id) => stack.api.waitFinal(id, 20_000)));
  for (const job of gigabyteJobs) {
    expect(job.status).toBe('completed');
    expect(job.lastResponse).toMatchObject({ statusCode: 200, truncated: true, bodyBytes: CAP });
    expect(job.lastResponse.body).toBe('x'.repeat(CAP));
    // Cut at the cap, not by the deadline.
    expect(job.attemptsLog[0].durationMs).toBeLessThan(CEILING_MS);
  }

  const silentJobs = await Promise.all(silent.map((id) => stack.api.waitFinal(id, 20_000)));
  for (const job of silentJobs) {
    expect(job).toMatchObject({ status: 'failed', attempts: 1, error: { code: 'RELAY_ERR_TIMEOUT' } });
    expect(job.attemptsLog[0].statusCode).toBeNull();
    expect(job.attemptsLog[0].durationMs).toBeGreaterThanOrEqual(CEILING_MS - 50);
    expect(job.attemptsLog[0].durationMs).toBeLessThan(CEILING_MS + 1000);
  }

  const trickleJobs = await Promise.all(trickle.map((id) => stack.api.waitFinal(id, 20_000)));
  for (const job of trickleJobs) {
    expect(job).toMatchObject({ status: 'failed', attempts: 2, error: { code: 'RELAY_ERR_TIMEOUT' } });
    for (const attempt of job.attemptsLog) {
      expect(attempt).toMatchObject({ statusCode: null, error: { code: 'RELAY_ERR_TIMEOUT' } });
      expect(attempt.durationMs).toBeGreaterThanOrEqual(950);
      expect(attempt.durationMs).toBeLessThan(2500);
    }
  }

  // Every 1 GiB server saw its client go away after far less than 1 GiB.
  await waitFor(() => streams.length === gigabyte.length && streams.every((s) => s.closed), 10_000, 'streams closed');
  const written = streams.map((s) => s.written);
  const maxWritten = Math.max(...written);
  expect(maxWritten).toBeLessThan(32 * 1024 * 1024);

  sampling = false;
  await sampler;
  const rssAfter = await workerRss();
  rssPeak = Math.max(rssPeak, rssAfter);
  const mib = (n: number) => Math.round((n / 1024 / 1024) * 10) / 10;
  console.log(
    `limits: worker RSS ${mib(rssBefore)} MiB before, peak ${mib(rssPeak)} MiB (+${mib(rssPeak - rssBefore)}), ` +
      `${mib(rssAfter)} MiB after; 1 GiB servers wrote at most ${mib(maxWritten)} MiB ` +
      `(total ${mib(written.reduce((a, b) => a + b, 0))} MiB over ${written.length} responses, ` +
      `socket bytes at most ${mib(Math.max(...streams.map((s) => s.socketBytes)))} MiB); ` +
      `50 healthy jobs done in ${healthyDoneMs} ms`,
  );
  expect(rssPeak - rssBefore).toBeLessThan(100 * 1024 * 1024);
});
