/**
 * `pnpm bench`: how fast relay is, what it costs, and how it compares with
 * the least a relay could do (bench/bare-pipeline.ts), on this machine.
 *
 * Starts a backend and a worker on a random RELAY_PREFIX (against the running
 * RabbitMQ and Redis), the bare pipeline, a target and a callback receiver,
 * all on 127.0.0.1; measures; prints a table on stdout (progress on stderr);
 * writes JSON and Markdown to bench-results/; stops all it started and
 * removes the prefix's keys and queues.
 *
 *   pnpm bench                 3 runs of each measure
 *   pnpm bench --runs 5
 *   pnpm bench --quick         1 short run of each: a smoke test, not figures
 *   pnpm bench --help
 */
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { REPO_ROOT } from '../e2e/support/processes.js';
import type { Pool } from 'undici';
import { submitPool, type Submitter } from './load-generator.js';
import {
  calibrate,
  intake,
  latency,
  ramp,
  runStep,
  sleep,
  type Context,
  type MeasureSettings,
  type Scenario,
} from './measures.js';
import { peakRssBytes } from './process-cost.js';
import { consoleStreamCost, describeConsoleStream } from './console-stream.js';
import { describeEventsCost, EVENTS_COST_METADATA, eventsCost, writeEventsCost } from './events-cost.js';
import {
  figures,
  goals,
  LATENCY_RATE,
  perRun,
  renderMarkdown,
  renderText,
  tables,
  writeResults,
  type Meta,
  type RedisRun,
  type Runs,
} from './report.js';
import { runStandalone } from './standalone.js';
import { benchRuntime, relayConcurrency, type Stack } from './stack.js';
// Issue 16: relay against the durable floor and the BullMQ build.
import {
  COMPARISON_HELP,
  COMPARISON_OPTIONS,
  comparisonPhase,
  comparisonResult,
  comparisonSettings,
} from './comparison-phase.js';
import { comparisonTables } from './comparison-report.js';

const HELP = `pnpm bench [--runs N] [--quick] [--out DIR] [--step-seconds S] [--latency-seconds S] [--intake-seconds S]

  --runs N             runs of each measure; figures are medians (default 3; 1 with --quick)
  --quick              short steps and one run: checks that everything works, figures are rough
  --out DIR            where results go (default bench-results/)
  --step-seconds S     length of one throughput ramp step (default 5; 2 with --quick)
  --latency-seconds S  length of the latency measure at ${LATENCY_RATE} jobs/s (default 10; 3 with --quick)
  --intake-seconds S   length of the intake measure (default 5; 2 with --quick)
  --console-seconds S  length of one phase of the console stream's cost, at 1,000 jobs/s, alternating
                       without and with a stream client, --runs pairs (default 10; 2 with --quick)
${COMPARISON_HELP}

Environment: BENCH_LOG_LEVEL (relay's LOG_LEVEL, default warn); relay settings such as
WORKER_CONCURRENCY pass through to the relay processes.`;

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string' },
    quick: { type: 'boolean', default: false },
    out: { type: 'string', default: 'bench-results' },
    'step-seconds': { type: 'string' },
    'latency-seconds': { type: 'string' },
    'intake-seconds': { type: 'string' },
    'console-seconds': { type: 'string' },
    ...COMPARISON_OPTIONS,
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  console.log(HELP);
  process.exit(0);
}

const quick = args.quick ?? false;
const seconds = (value: string | undefined, fallback: number) => Math.round(1000 * (value ? Number(value) : fallback));
const runCount = Number(args.runs ?? (quick ? 1 : 3));
const settings: MeasureSettings = {
  stepMs: seconds(args['step-seconds'], quick ? 2 : 5),
  calibrationStepMs: quick ? 1000 : 2000,
  // 10% apart: the figure's resolution. Quick runs take bigger strides.
  rampFactor: quick ? 1.25 : 1.1,
  latencyRate: LATENCY_RATE,
  latencyMs: seconds(args['latency-seconds'], quick ? 3 : 10),
  intakeClients: 64,
  intakeMs: seconds(args['intake-seconds'], quick ? 2 : 5),
  settleTimeoutMs: 60_000,
};
if (!(runCount >= 1) || ![settings.stepMs, settings.latencyMs, settings.intakeMs].every((ms) => ms >= 500)) {
  console.error(`invalid arguments\n\n${HELP}`);
  process.exit(2);
}
let comparison: ReturnType<typeof comparisonSettings>;
try {
  comparison = comparisonSettings(args, quick);
} catch (err) {
  console.error(`${(err as Error).message}\n\n${HELP}`);
  process.exit(2);
}

const started = Date.now();
const log = (line: string) => {
  const s = Math.round((Date.now() - started) / 1000);
  process.stderr.write(`[${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}] ${line}\n`);
};

await runStandalone(log, main);

async function main(stack: Stack): Promise<void> {
  const startedAt = new Date().toISOString();
  const loadAvgStart = os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
  const { receiver, processes: p, redis } = stack;
  const ctx: Context = { receiver, settings, log };

  const relayPool = submitPool(stack.relayOrigin, 128);
  const barePool = submitPool(stack.bareOrigin, 128);
  /** Jobs POSTed to `submitPath` on `pool`, calling the target at `targetPath`, called back to the receiver. */
  const jobs = (
    pool: Pool,
    submitPath: string,
    targetPath: string,
    extra: Record<string, unknown> = {},
  ): Submitter => ({
    pool,
    path: submitPath,
    body: (batch, seq) =>
      JSON.stringify({
        targetUrl: `${stack.targetOrigin}${targetPath}`,
        method: 'POST',
        payload: { seq },
        callbackUrl: receiver.url(batch, seq),
        ...extra,
      }),
  });
  const emptyStore = () => redis.resetJobs();
  const relay: Scenario = {
    name: 'relay',
    submitter: jobs(relayPool, '/api/jobs', '/ok'),
    processes: [p.backend, p.worker, p.target, ...stack.servers],
    reset: emptyStore,
  };
  const bare: Scenario = {
    name: 'bare',
    submitter: jobs(barePool, '/jobs', '/ok'),
    processes: [p.bare, p.target, ...stack.servers],
    reset: async () => {},
  };
  const retry: Scenario = {
    name: 'relay 30%-503',
    submitter: jobs(relayPool, '/api/jobs', '/flaky/30', { maxRetries: 3, retryDelay: 100 }),
    processes: [p.backend, p.worker, p.target, ...stack.servers],
    reset: emptyStore,
  };

  log(
    `${runCount} run(s); ramp steps ${settings.stepMs / 1000} s x${settings.rampFactor}, ` +
      `latency ${settings.latencyMs / 1000} s at ${LATENCY_RATE}/s, intake ${settings.intakeMs / 1000} s with ${settings.intakeClients} clients`,
  );
  log('warm-up (JIT, connection pools), not recorded');
  for (const s of [relay, bare, retry]) {
    await runStep(ctx, s, 100, quick ? 1000 : 2000);
    await s.reset();
  }

  const runs: Runs = {
    calibration: {},
    throughput: { relay: [], bare: [], retry: [] },
    intake: { relay: [], bare: [] },
    latency: { relay: [], bare: [], retry: [] },
    redis: [],
    peakRssBytes: {},
  };

  log('phase 1/3, sustained throughput (relay, bare, relay with 30% 503): calibration, doubling from 100 jobs/s');
  for (const s of [relay, bare, retry]) runs.calibration[s.name] = await calibrate(ctx, s);
  const rampStart = (s: Scenario) => runs.calibration[s.name]!.start;
  log('phase 1/4, sustained throughput: open-loop ramps; the figure is the highest rate sustained');
  for (let r = 1; r <= runCount; r++) {
    runs.throughput.relay.push(await ramp(ctx, relay, rampStart(relay), `throughput run ${r}/${runCount}`));
    runs.throughput.bare.push(await ramp(ctx, bare, rampStart(bare), `throughput run ${r}/${runCount}`));
    runs.throughput.retry.push(await ramp(ctx, retry, rampStart(retry), `throughput run ${r}/${runCount}`));
  }

  log(`phase 2/4, intake (relay, bare): ${settings.intakeClients} clients, closed loop`);
  for (let r = 1; r <= runCount; r++) {
    runs.intake.relay.push(await intake(ctx, relay, `intake run ${r}/${runCount}`));
    runs.intake.bare.push(await intake(ctx, bare, `intake run ${r}/${runCount}`));
  }

  log(`phase 3/4, latency at ${LATENCY_RATE} jobs/s, CPU and Redis per job (relay, bare, relay with 30% 503)`);
  for (let r = 1; r <= runCount; r++) {
    // An empty store before, so the keys found after belong to this run's jobs only.
    await relay.reset();
    await sleep(500);
    const usedBefore = await redis.usedMemory();
    const measured = await latency(ctx, relay, `latency run ${r}/${runCount}`, async () => {
      await sleep(300); // the worker records the callback's delivery just after the receiver answers
      return { usage: await redis.usage(), usedAfter: await redis.usedMemory() };
    });
    runs.latency.relay.push(measured.step);
    const { usage, usedAfter } = measured.inspected!;
    const redisRun: RedisRun = { ...usage, usedMemoryDeltaPerJob: (usedAfter - usedBefore) / usage.jobs };
    runs.redis.push(redisRun);
    log(
      `relay Redis run ${r}/${runCount}: ${Math.round(usage.bytes / usage.jobs)} bytes per job ` +
        `(${usage.jobs} jobs, ${usage.keys} keys; MEMORY USAGE of every key under the prefix)`,
    );
    runs.latency.bare.push((await latency(ctx, bare, `latency run ${r}/${runCount}`)).step);
    runs.latency.retry.push((await latency(ctx, retry, `latency run ${r}/${runCount}`)).step);
  }
  for (const proc of [p.backend, p.worker, p.bare, p.target]) runs.peakRssBytes[proc.name] = peakRssBytes(proc.pid);

  log('events phase: job throughput with 0 and with 3 matching subscriptions, alternated');
  const eventsCostResult = await eventsCost(
    ctx,
    {
      ...relay,
      name: 'relay events',
      submitter: jobs(relayPool, '/api/jobs', '/ok', { metadata: EVENTS_COST_METADATA }),
    },
    stack.relayOrigin,
    { jobs: quick ? 500 : 2000, pairs: runCount },
  );

  log('phase 4/4, the console stream: backend CPU at 1,000 jobs/s without and with one stream client, alternated');
  runs.consoleStream = await consoleStreamCost(ctx, relay, p.backend, `${stack.relayOrigin}/api/console/stream`, {
    phaseMs: seconds(args['console-seconds'], quick ? 2 : 10),
    pairs: runCount,
  });

  // ---- issue 16: relay, the durable floor, the BullMQ build and bare, interleaved rounds ----
  log(
    `phase 5/5, issue 16: relay, the durable floor, the BullMQ build and bare, ${comparison.rounds} interleaved round(s): ` +
      `closed loop of ${comparison.jobs} jobs, sustained rate, open loops at ${comparison.rates.join(' and ')} jobs/s`,
  );
  const comparisonRuns = await comparisonPhase(
    ctx,
    stack,
    { relay, bare },
    (pool) => jobs(pool, '/jobs', '/ok'),
    comparison,
  );
  // ---- end of issue 16's phase ----

  await Promise.all([relayPool.close(), barePool.close()]);

  const cpus = os.cpus();
  const meta: Meta = {
    startedAt,
    finishedAt: new Date().toISOString(),
    machine: {
      cpus: `${cpus.length} × ${cpus[0]?.model ?? 'unknown'}`,
      memory: `${Math.round(os.totalmem() / 2 ** 30)} GiB`,
      os: `${os.type()} ${os.release()}`,
      node: process.version,
      redis: await redis.version(),
      'load average at start': loadAvgStart,
      'load average at end': os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(' '),
      note: 'RabbitMQ, Redis, relay, the bare pipeline, the target, the receiver and the load generator share the machine',
    },
    settings: {
      runs: runCount,
      quick,
      ...settings,
      relayLogLevel: stack.logLevel,
      runtime: benchRuntime(),
      workerConcurrency: process.env.WORKER_CONCURRENCY ?? '64 (default)',
      ...relayConcurrency(process.env),
    },
  };
  const f = figures(runs);
  const g = goals(f);
  runs.comparison = await comparisonResult(comparisonRuns, f.cost.redisBytesPerJob, path.resolve(REPO_ROOT, args.out!));
  const t = [...tables(f, g, runCount), ...comparisonTables(runs.comparison)];
  const files = await writeResults(
    path.resolve(REPO_ROOT, args.out!),
    meta,
    runs,
    f,
    g,
    renderMarkdown(t, meta, f, runs),
  );
  console.log(`\n${renderText(t)}\n`);
  console.log(
    `per run:\n${perRun(runs)
      .map((line) => `  ${line}`)
      .join('\n')}\n`,
  );
  console.log(
    `machine: ${meta.machine.cpus}, ${meta.machine.memory}, ${meta.machine.node}, Redis ${meta.machine.redis}`,
  );
  console.log(
    `background: a median ${f.otherCores} cores per step busy outside the benchmark's processes; ` +
      `load average ${loadAvgStart} at start, ${meta.machine['load average at end']} at end`,
  );
  console.log(describeConsoleStream(runs.consoleStream));
  console.log(describeEventsCost(eventsCostResult));
  files.push(await writeEventsCost(path.resolve(REPO_ROOT, args.out!), eventsCostResult));
  console.log(`results: ${files.map((file) => path.relative(process.cwd(), file)).join(', ')}`);
}
