/**
 * What the HTTP framework costs per job submission, apart from everything
 * else: Fastify with relay's strict body validation (the JobSpec schema,
 * relay's Ajv compiler, a serialized 202) against node:http with JSON.parse
 * and JSON.stringify, which is the durable floor's intake (bench/floor/).
 * No Redis, no broker: the handlers answer at once.
 *
 * Each server runs alone in a child process; the parent sends the same small
 * submission from 64 keep-alive connections on loopback and reads the
 * child's CPU time (process.cpuUsage) across the measured requests. The
 * servers alternate; the figures are medians of the rounds.
 *
 *   pnpm exec tsx bench/framework-cost.ts [--requests 20000] [--rounds 3]
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import Fastify from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Pool } from 'undici';
import { JobSpecSchema } from '@relay/common';
import { validatorCompiler } from '@relay/backend';
import { median, round } from './stats.js';

type Kind = 'node-http' | 'fastify';
const KINDS: Kind[] = ['node-http', 'fastify'];
const CONNECTIONS = 64;
const WARMUP = 2000;

const ACCEPTED = { jobId: '', status: 'queued', message: 'Job accepted for processing' };

async function serve(kind: Kind): Promise<void> {
  let port: number;
  if (kind === 'fastify') {
    const app = Fastify({ logger: false }).withTypeProvider<TypeBoxTypeProvider>();
    app.setValidatorCompiler(validatorCompiler);
    const accepted = {
      type: 'object',
      properties: { jobId: { type: 'string' }, status: { type: 'string' }, message: { type: 'string' } },
    };
    app.post('/api/jobs', { schema: { body: JobSpecSchema, response: { 202: accepted } } }, async (_req, reply) => {
      reply.code(202);
      return { ...ACCEPTED, jobId: randomUUID() };
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    port = (app.server.address() as { port: number }).port;
  } else {
    const server = http.createServer({ noDelay: true, keepAliveTimeout: 5000 }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        JSON.parse(Buffer.concat(chunks).toString('utf8'));
        res.writeHead(202, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ ...ACCEPTED, jobId: randomUUID() }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  }
  process.on('message', (m) => {
    if (m === 'cpu') process.send!({ cpu: process.cpuUsage() });
  });
  process.send!({ port });
}

function nextMessage<T>(child: ChildProcess): Promise<T> {
  return new Promise((resolve) => child.once('message', (m) => resolve(m as T)));
}

async function load(pool: Pool, count: number): Promise<void> {
  // The target and callback are never called: the servers only parse the body.
  const body = JSON.stringify({
    targetUrl: 'http://127.0.0.1:9/t',
    method: 'POST',
    payload: { n: 1 },
    callbackUrl: 'http://127.0.0.1:9/cb',
    maxRetries: 3,
  });
  let sent = 0;
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (sent < count) {
        sent++;
        const res = await pool.request({
          path: '/api/jobs',
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
        });
        await res.body.text();
        if (res.statusCode !== 202) throw new Error(`answered ${res.statusCode}`);
      }
    }),
  );
}

/** CPU µs the server spent per request over `requests` requests, after a warm-up. */
async function measure(kind: Kind, requests: number): Promise<number> {
  const child = fork(fileURLToPath(import.meta.url), ['serve', kind], { execArgv: process.execArgv });
  try {
    const { port } = await nextMessage<{ port: number }>(child);
    const pool = new Pool(`http://127.0.0.1:${port}`, { connections: CONNECTIONS });
    await load(pool, WARMUP);
    child.send('cpu');
    const before = (await nextMessage<{ cpu: NodeJS.CpuUsage }>(child)).cpu;
    await load(pool, requests);
    child.send('cpu');
    const after = (await nextMessage<{ cpu: NodeJS.CpuUsage }>(child)).cpu;
    await pool.close();
    return (after.user - before.user + after.system - before.system) / requests;
  } finally {
    child.kill();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { requests: { type: 'string', default: '20000' }, rounds: { type: 'string', default: '3' } },
  });
  const requests = Number(values.requests);
  const rounds = Number(values.rounds);
  if (!(requests >= 100) || !(rounds >= 1)) {
    console.error('usage: framework-cost.ts [--requests N >= 100] [--rounds R >= 1]');
    process.exit(2);
  }
  const figures: Record<Kind, number[]> = { 'node-http': [], fastify: [] };
  for (let r = 1; r <= rounds; r++) {
    for (const kind of r % 2 === 1 ? KINDS : [...KINDS].reverse()) {
      const micros = await measure(kind, requests);
      figures[kind].push(micros);
      console.log(`round ${r}/${rounds}: ${kind} ${round(micros)} µs of server CPU per submission`);
    }
  }
  const plain = median(figures['node-http']);
  const framed = median(figures.fastify);
  console.log(
    JSON.stringify({
      requests,
      rounds,
      nodeHttpMicros: round(plain),
      fastifyMicros: round(framed),
      differenceMicros: round(framed - plain),
      ratio: round(framed / plain),
    }),
  );
}

if (process.argv[2] === 'serve') await serve(process.argv[3] as Kind);
else await main();
