/**
 * Start-up cost of the relay processes, compiled (`node dist/...js`, as in the
 * image) against sources (`node --import tsx src/...ts`, as `pnpm start` and the
 * tests run them):
 *
 *   pnpm bench:startup [runs=5]
 *
 * Builds first (scripts/build.mjs), then for each run starts the backend and
 * then the worker once per runtime, alternating which runtime goes first so
 * that a warm file cache or a busy neighbour favours neither. Start-up time is
 * from spawn to the ready line (the backend's "Server listening", the worker's
 * "worker consuming"); RSS and CPU time are read SETTLE_MS after it. Prints the
 * medians as a table. Needs RabbitMQ and Redis (one random prefix, removed after).
 */
import { performance } from 'node:perf_hooks';
import { buildCompiled, freePort, spawnRelay, type RelayProcess, type Runtime } from '../e2e/support/processes.js';
import { cleanup, randomPrefix, RABBITMQ_URL, REDIS_URL } from '../e2e/support/services.js';
import { cpuSeconds, rssBytes } from './process-cost.js';
import { median } from './stats.js';

/** How long after the ready line RSS and CPU are read: lazy work right after start-up is counted too. */
const SETTLE_MS = 1_000;

const READY_LINE = { backend: 'Server listening', worker: 'worker consuming' } as const;

type Name = keyof typeof READY_LINE;

interface Sample {
  readyMs: number;
  rssMiB: number;
  cpuMs: number;
}

async function measure(name: Name, runtime: Runtime, env: Record<string, string>): Promise<Sample> {
  const port: Record<string, string> = name === 'backend' ? { HOST: '127.0.0.1', PORT: String(await freePort()) } : {};
  const started = performance.now();
  const proc: RelayProcess = spawnRelay(name, { ...env, ...port }, runtime);
  try {
    await proc.waitForLine(READY_LINE[name]);
    const readyMs = performance.now() - started;
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    const pid = proc.child.pid!;
    return { readyMs, rssMiB: rssBytes(pid) / 2 ** 20, cpuMs: cpuSeconds(pid) * 1000 };
  } finally {
    await proc.stop();
  }
}

async function main(): Promise<void> {
  const runs = Number(process.argv[2] ?? 5);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`runs must be a positive integer, got ${process.argv[2]}`);
  process.stdout.write('building (pnpm build)...\n');
  await buildCompiled();

  const prefix = randomPrefix('startup');
  const env = { RELAY_PREFIX: prefix, RABBITMQ_URL, REDIS_URL, LOG_LEVEL: 'info' };
  const samples = new Map<string, Sample[]>();
  try {
    for (let run = 0; run < runs; run += 1) {
      const order: Runtime[] = run % 2 === 0 ? ['compiled', 'source'] : ['source', 'compiled'];
      for (const runtime of order) {
        for (const name of ['backend', 'worker'] as const) {
          const sample = await measure(name, runtime, env);
          const key = `${name} ${runtime}`;
          samples.set(key, [...(samples.get(key) ?? []), sample]);
          process.stdout.write(
            `run ${run + 1}/${runs} ${key.padEnd(16)} ready ${sample.readyMs.toFixed(0)} ms, ` +
              `RSS ${sample.rssMiB.toFixed(1)} MiB, CPU ${sample.cpuMs.toFixed(0)} ms\n`,
          );
        }
      }
    }
  } finally {
    await cleanup(prefix);
  }

  const rows = [...samples.entries()].sort(([a], [b]) => a.localeCompare(b));
  process.stdout.write(`\nmedians of ${runs} runs (ready: spawn to ready line; RSS, CPU: ${SETTLE_MS} ms after it)\n`);
  process.stdout.write('| process | runtime | ready (ms) | RSS (MiB) | CPU (ms) |\n|---|---|---|---|---|\n');
  for (const [key, list] of rows) {
    const [name, runtime] = key.split(' ');
    const col = (f: (s: Sample) => number, digits: number) => median(list.map(f)).toFixed(digits);
    process.stdout.write(
      `| ${name} | ${runtime} | ${col((s) => s.readyMs, 0)} | ${col((s) => s.rssMiB, 1)} | ${col((s) => s.cpuMs, 0)} |\n`,
    );
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
