/**
 * A quick throughput probe (the full benchmark is `pnpm bench`, bench/main.ts):
 * starts a backend and a worker on a random prefix (the e2e stack), submits N jobs with a
 * closed loop of C concurrent clients against a local target, and measures
 * jobs/s from the first submit to the last callback received.
 *
 *   pnpm exec tsx bench/throughput.ts [jobs=2000] [clients=64]
 */
import { Agent, request } from 'undici';
import { reply, TestServer } from '../e2e/support/http-servers.js';
import { startStack } from '../e2e/support/stack.js';
import { cpuDelta, findServerProcesses, readCpu, type WatchedProcess } from './process-cost.js';

const total = Number(process.argv[2] ?? 2000);
const clients = Number(process.argv[3] ?? 64);

const target = await new TestServer().listen();
const callbacks = await new TestServer().listen();
target.on('/t', (_req, res) => reply(res, 200, '{"ok":true}', { 'content-type': 'application/json' }));
let received = 0;
let lastCallbackAt = 0;
let allDone: () => void;
const finished = new Promise<void>((r) => (allDone = r));
callbacks.on('/cb', (_req, res) => {
  reply(res, 204);
  received++;
  lastCallbackAt = performance.now();
  if (received % 500 === 0) process.stderr.write(`  callbacks: ${received}/${total}\n`);
  if (received === total) allDone();
});

// LOG_LEVEL=info (the default) writes a few lines per job; BENCH_LOG_LEVEL=warn shows what they cost.
const logLevel = process.env.BENCH_LOG_LEVEL ?? 'info';
// One target and one application: the fairness caps are raised to the slot count, so that every slot can serve it.
const slots = '128';
const stack = await startStack('bench', {
  env: { WORKER_CONCURRENCY: slots, HOST_CONCURRENCY: slots, APPLICATION_CONCURRENCY: slots, LOG_LEVEL: logLevel },
});
const { baseUrl } = stack.api;
const agent = new Agent({ connections: clients, keepAliveTimeout: 10_000 });
const body = JSON.stringify({
  targetUrl: target.url('/t'),
  method: 'POST',
  payload: { n: 1 },
  callbackUrl: callbacks.url('/cb'),
});

// CPU per job: relay's own processes, and the broker's and the store's (whole servers: shared on this machine).
const watched: WatchedProcess[] = [
  { name: 'backend', pid: stack.backend.child.pid! },
  { name: 'worker', pid: stack.workers[0]!.child.pid! },
  ...findServerProcesses(),
];
const cpuBefore = readCpu(watched);
let next = 0;
const t0 = performance.now();
let submittedAt = 0;
await Promise.all(
  Array.from({ length: clients }, async () => {
    while (next < total) {
      next++;
      const res = await request(`${baseUrl}/api/jobs`, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json' },
        dispatcher: agent,
      });
      await res.body.dump();
      if (res.statusCode !== 202) throw new Error(`submit failed: ${res.statusCode}`);
    }
  }),
);
submittedAt = performance.now();
await finished;
const seconds = (lastCallbackAt - t0) / 1000;
const cpu = cpuDelta(cpuBefore, readCpu(watched));
const usPerJob = (name: string) => Math.round(((cpu[name] ?? NaN) * 1e6) / total);
console.log(
  JSON.stringify({
    jobs: total,
    clients,
    intakePerSec: Math.round(total / ((submittedAt - t0) / 1000)),
    endToEndPerSec: Math.round(total / seconds),
    seconds: Number(seconds.toFixed(2)),
    cpuMicrosPerJob: Object.fromEntries(watched.map((p) => [p.name, usPerJob(p.name)])),
  }),
);
await agent.close();
await stack.stop();
await Promise.all([target.close(), callbacks.close()]);
