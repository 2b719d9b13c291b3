/**
 * `pnpm bench:soak`: does the worker's memory stay flat over a long run?
 * Starts the benchmark stack, submits N jobs (default 100,000) at an open-loop
 * rate (default 1,200/s, below the sustained figure so no backlog builds),
 * samples the worker's and the backend's RSS every 2 s, and fits a line to
 * RSS against completed jobs over the second half of the run (after warm-up):
 * the slope, in MiB per 10,000 jobs, is the growth trend.
 *
 *   pnpm bench:soak [--jobs N] [--rate R]
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Batch, openLoop, settled, submitPool, type Submitter } from './load-generator.js';
import { rssBytes } from './process-cost.js';
import { startStack } from './stack.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const jobs = arg('jobs', 100_000);
const rate = arg('rate', 1200);
const log = (line: string) => process.stderr.write(`[soak] ${line}\n`);

interface Sample {
  seconds: number;
  done: number;
  workerMiB: number;
  backendMiB: number;
}

/** Least-squares slope of y against x. */
function slope(points: { x: number; y: number }[]): number {
  const n = points.length;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  const num = points.reduce((s, p) => s + (p.x - mx) * (p.y - my), 0);
  const den = points.reduce((s, p) => s + (p.x - mx) ** 2, 0);
  return den === 0 ? 0 : num / den;
}

const stack = await startStack(log);
try {
  const pool = submitPool(stack.relayOrigin, 128);
  const batch: Batch = stack.receiver.open('soak');
  const submitter: Submitter = {
    pool,
    path: '/api/jobs',
    body: (b, seq) =>
      JSON.stringify({
        targetUrl: `${stack.targetOrigin}/ok`,
        method: 'POST',
        payload: { seq },
        callbackUrl: stack.receiver.url(b, seq),
      }),
  };
  const mib = (pid: number) => rssBytes(pid) / 2 ** 20;
  const samples: Sample[] = [];
  const t0 = performance.now();
  const sample = () => {
    samples.push({
      seconds: (performance.now() - t0) / 1000,
      done: batch.callbacks,
      workerMiB: mib(stack.processes.worker.pid),
      backendMiB: mib(stack.processes.backend.pid),
    });
    const last = samples.at(-1)!;
    if (samples.length % 5 === 1) {
      log(
        `${last.seconds.toFixed(0)} s: ${last.done}/${jobs} done, worker ${last.workerMiB.toFixed(1)} MiB, backend ${last.backendMiB.toFixed(1)} MiB`,
      );
    }
  };
  log(`${jobs} jobs at ${rate}/s (open loop)`);
  sample();
  const timer = setInterval(sample, 2000);
  await openLoop(submitter, batch, rate, (jobs / rate) * 1000);
  const drainMs = await settled(batch, 120_000);
  clearInterval(timer);
  sample();
  await pool.close();

  const half = samples.filter((s) => s.done >= jobs / 2);
  const perTenK = (key: 'workerMiB' | 'backendMiB') => slope(half.map((s) => ({ x: s.done / 10_000, y: s[key] })));
  const result = {
    jobs,
    rate,
    accepted: batch.accepted,
    refused: batch.refused,
    calledBack: batch.callbacks,
    drainedInMs: Math.round(drainMs),
    worker: {
      firstMiB: samples[0]!.workerMiB,
      maxMiB: Math.max(...samples.map((s) => s.workerMiB)),
      lastMiB: samples.at(-1)!.workerMiB,
      secondHalfSlopeMiBPer10kJobs: perTenK('workerMiB'),
    },
    backend: {
      firstMiB: samples[0]!.backendMiB,
      maxMiB: Math.max(...samples.map((s) => s.backendMiB)),
      lastMiB: samples.at(-1)!.backendMiB,
      secondHalfSlopeMiBPer10kJobs: perTenK('backendMiB'),
    },
    samples,
  };
  const dir = path.resolve('bench-results');
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, `soak-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  await writeFile(file, JSON.stringify(result, null, 2));
  const f = (n: number) => n.toFixed(1);
  process.stdout.write(
    `\nsoak: ${batch.callbacks}/${jobs} jobs called back (${batch.refused} refused) at ${rate}/s\n` +
      `process  first MiB  max MiB  last MiB  slope over the 2nd half (MiB per 10k jobs)\n` +
      `worker   ${f(result.worker.firstMiB).padStart(9)}  ${f(result.worker.maxMiB).padStart(7)}  ${f(result.worker.lastMiB).padStart(8)}  ${result.worker.secondHalfSlopeMiBPer10kJobs.toFixed(2)}\n` +
      `backend  ${f(result.backend.firstMiB).padStart(9)}  ${f(result.backend.maxMiB).padStart(7)}  ${f(result.backend.lastMiB).padStart(8)}  ${result.backend.secondHalfSlopeMiBPer10kJobs.toFixed(2)}\n` +
      `results: ${path.relative(process.cwd(), file)}\n`,
  );
} finally {
  await stack.stop();
}
process.exit(0);
