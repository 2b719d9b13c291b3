/**
 * Turns the runs into figures (medians of runs), checks them against the
 * goals, and renders them: a text table for the terminal, a Markdown summary
 * and the full JSON (every step of every run) under bench-results/.
 */
import { comparisonPerRound, type ComparisonResult } from './comparison-report.js';
import { describeConsoleStream, type ConsoleStreamResult } from './console-stream.js';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { IntakeResult, StepResult } from './measures.js';
import type { PrefixUsage } from './redis-usage.js';
import { median, round, type LatencySummary } from './stats.js';

export interface RampRun {
  jobsPerSec: number;
  completedPerSec: number;
  steps: StepResult[];
}

export interface RedisRun extends PrefixUsage {
  /** Change of INFO used_memory over the run, divided by the jobs (shared server: a cross-check only). */
  usedMemoryDeltaPerJob: number;
}

/** Everything measured, as collected by main.ts. */
export interface Runs {
  calibration: Record<string, { start: number; steps: StepResult[] }>;
  throughput: { relay: RampRun[]; bare: RampRun[]; retry: RampRun[] };
  intake: { relay: IntakeResult[]; bare: IntakeResult[] };
  latency: { relay: StepResult[]; bare: StepResult[]; retry: StepResult[] };
  redis: RedisRun[];
  /** VmHWM of each process at the end of the benchmark (bytes). */
  peakRssBytes: Record<string, number>;
  /** Issue 16: relay against the durable floor and the BullMQ build (comparison.ts); absent until that phase ran. */
  comparison?: ComparisonResult;
  /** The console stream's backend CPU (console-stream.ts); absent until that phase ran. */
  consoleStream?: ConsoleStreamResult;
}

export interface Meta {
  startedAt: string;
  finishedAt: string;
  machine: Record<string, string | number>;
  settings: Record<string, string | number | boolean>;
}

export interface Goal {
  name: string;
  target: string;
  value: number;
  pass: boolean;
}

/** CPU seconds of `proc` per 1,000 jobs called back in a step. */
const cpuPer1000 = (s: StepResult, proc: string) => ((s.cpuSeconds[proc] ?? NaN) / s.callbacks) * 1000;

/** The step that gave a ramp its figure. */
const bestStep = (run: RampRun) => run.steps.find((s) => s.stable && s.rate === run.jobsPerSec);

/** Every open-loop step of the benchmark. */
const allSteps = (runs: Runs) => [
  ...Object.values(runs.calibration).flatMap((c) => c.steps),
  ...Object.values(runs.throughput).flatMap((rs: RampRun[]) => rs.flatMap((r) => r.steps)),
  ...Object.values(runs.latency).flat(),
];

export function figures(runs: Runs) {
  const m = (xs: number[]) => round(median(xs));
  const lat = (steps: StepResult[], pick: (s: StepResult) => number) => m(steps.map(pick));
  /** p50, p90 and p99 of a latency summary, each the median over the steps. */
  const percentiles = (steps: StepResult[], pick: (s: StepResult) => LatencySummary) => ({
    p50: lat(steps, (s) => pick(s).p50),
    p90: lat(steps, (s) => pick(s).p90),
    p99: lat(steps, (s) => pick(s).p99),
  });
  const f = {
    throughput: {
      relay: m(runs.throughput.relay.map((r) => r.jobsPerSec)),
      bare: m(runs.throughput.bare.map((r) => r.jobsPerSec)),
      retry: m(runs.throughput.retry.map((r) => r.jobsPerSec)),
    },
    intake: {
      relay: m(runs.intake.relay.map((r) => r.acceptedPerSec)),
      bare: m(runs.intake.bare.map((r) => r.acceptedPerSec)),
    },
    latency: {
      relay: percentiles(runs.latency.relay, (s) => s.latencyMs),
      bare: percentiles(runs.latency.bare, (s) => s.latencyMs),
      retryHealthy: percentiles(runs.latency.retry, (s) => s.healthyLatencyMs),
      retryAll: {
        p50: lat(runs.latency.retry, (s) => s.latencyMs.p50),
        p99: lat(runs.latency.retry, (s) => s.latencyMs.p99),
      },
      retriedShare: lat(runs.latency.retry, (s) => s.retriedShare),
    },
    cost: {
      cpuSecondsPer1000Jobs: {
        worker: lat(runs.latency.relay, (s) => cpuPer1000(s, 'worker')),
        backend: lat(runs.latency.relay, (s) => cpuPer1000(s, 'backend')),
        bare: lat(runs.latency.bare, (s) => cpuPer1000(s, 'bare')),
        // Whole servers, shared with whatever else uses them: an indication.
        rabbitmq: lat(runs.latency.relay, (s) => cpuPer1000(s, 'rabbitmq')),
        redis: lat(runs.latency.relay, (s) => cpuPer1000(s, 'redis')),
      },
      /** The same at the highest sustained rate (from the ramp step that set the figure). */
      cpuSecondsPer1000JobsSustained: {
        worker: m(runs.throughput.relay.map((r) => bestStep(r)).map((s) => (s ? cpuPer1000(s, 'worker') : NaN))),
        backend: m(runs.throughput.relay.map((r) => bestStep(r)).map((s) => (s ? cpuPer1000(s, 'backend') : NaN))),
        bare: m(runs.throughput.bare.map((r) => bestStep(r)).map((s) => (s ? cpuPer1000(s, 'bare') : NaN))),
      },
      peakRssMB: Object.fromEntries(
        Object.entries(runs.peakRssBytes).map(([name, bytes]) => [name, round(bytes / 1024 / 1024)]),
      ),
      redisBytesPerJob: m(runs.redis.map((r) => r.bytes / r.jobs)),
      redisUsedMemoryDeltaPerJob: m(runs.redis.map((r) => r.usedMemoryDeltaPerJob)),
    },
    /** Busy cores not accounted to the benchmark's processes, median over all steps: the noise floor of a shared machine. */
    otherCores: m(allSteps(runs).map((s) => s.otherCores)),
  };
  return {
    ...f,
    ratios: {
      throughput: round(f.throughput.relay / f.throughput.bare),
      intake: round(f.intake.relay / f.intake.bare),
      p50: round(f.latency.relay.p50 / f.latency.bare.p50),
      retryThroughput: round(f.throughput.retry / f.throughput.relay),
      retryHealthyP50: round(f.latency.retryHealthy.p50 / f.latency.relay.p50),
      retryHealthyP99: round(f.latency.retryHealthy.p99 / f.latency.relay.p99),
    },
  };
}

export type Figures = ReturnType<typeof figures>;

/** The latency goal is at this rate; main.ts measures at it. */
export const LATENCY_RATE = 200;
const REDIS_BYTES_GOAL = 2048;
/** The bench's own reading of "retried jobs must not slow healthy ones" (no figure was given). */
const RETRY_P99_GOAL = 1.5;

export function goals(f: Figures): Goal[] {
  return [
    { name: 'throughput vs bare', target: '≥ 0.6× bare', value: f.ratios.throughput, pass: f.ratios.throughput >= 0.6 },
    { name: 'intake vs bare', target: '≥ 0.8× bare', value: f.ratios.intake, pass: f.ratios.intake >= 0.8 },
    { name: 'p50 vs bare at 200/s', target: '≤ 2× bare', value: f.ratios.p50, pass: f.ratios.p50 <= 2 },
    { name: 'p99 at 200/s (ms)', target: '< 25 ms', value: f.latency.relay.p99, pass: f.latency.relay.p99 < 25 },
    {
      name: 'Redis bytes per completed job',
      target: '< 2 KB',
      value: f.cost.redisBytesPerJob,
      pass: f.cost.redisBytesPerJob < REDIS_BYTES_GOAL,
    },
    {
      name: 'first-attempt p99 with 30% 503 vs without',
      target: `≤ ${RETRY_P99_GOAL}× (bench's bar)`,
      value: f.ratios.retryHealthyP99,
      pass: f.ratios.retryHealthyP99 <= RETRY_P99_GOAL,
    },
  ];
}

type Cell = string | number;
export interface Table {
  title: string;
  head: string[];
  rows: Cell[][];
  /** Columns from this index on are text, left-aligned (default 4: goal and result). */
  leftFrom?: number;
}

const fmt = (v: Cell): string => {
  if (typeof v === 'string') return v;
  if (!Number.isFinite(v)) return '—';
  return Math.abs(v) >= 100 ? Math.round(v).toLocaleString('en-US') : String(round(v));
};
const verdict = (g: Goal | undefined): string => (g ? (g.pass ? 'PASS' : 'FAIL') : '');

export function tables(f: Figures, g: Goal[], runs: number): Table[] {
  const goal = (name: string) => g.find((x) => x.name === name);
  const row = (label: string, a: Cell, b: Cell, ratio: Cell, gl?: Goal): Cell[] => [
    label,
    a,
    b,
    ratio,
    gl?.target ?? '',
    verdict(gl),
  ];
  const r = f.ratios;
  const cpu = f.cost.cpuSecondsPer1000Jobs;
  const relayCpu = cpu.worker + cpu.backend;
  const atMax = f.cost.cpuSecondsPer1000JobsSustained;
  const rss = f.cost.peakRssMB;
  return [
    {
      title: `relay vs the bare pipeline (median of ${runs} run${runs === 1 ? '' : 's'})`,
      head: ['measure', 'relay', 'bare', 'relay/bare', 'goal', 'result'],
      rows: [
        row(
          'sustained throughput, jobs/s',
          f.throughput.relay,
          f.throughput.bare,
          r.throughput,
          goal('throughput vs bare'),
        ),
        row('intake, 64 clients, 202/s', f.intake.relay, f.intake.bare, r.intake, goal('intake vs bare')),
        row(
          `latency p50 at ${LATENCY_RATE} jobs/s, ms`,
          f.latency.relay.p50,
          f.latency.bare.p50,
          r.p50,
          goal('p50 vs bare at 200/s'),
        ),
        row(
          `latency p90 at ${LATENCY_RATE} jobs/s, ms`,
          f.latency.relay.p90,
          f.latency.bare.p90,
          f.latency.relay.p90 / f.latency.bare.p90,
        ),
        row(
          `latency p99 at ${LATENCY_RATE} jobs/s, ms`,
          f.latency.relay.p99,
          f.latency.bare.p99,
          f.latency.relay.p99 / f.latency.bare.p99,
          goal('p99 at 200/s (ms)'),
        ),
      ],
    },
    {
      title: `cost (CPU at ${LATENCY_RATE} jobs/s unless said; peak RSS over the whole benchmark)`,
      head: ['measure', 'relay', 'bare', 'relay/bare', 'goal', 'result'],
      rows: [
        row('worker CPU s per 1,000 jobs', cpu.worker, '', ''),
        row('backend CPU s per 1,000 jobs', cpu.backend, '', ''),
        row('worker + backend vs bare, CPU s per 1,000 jobs', relayCpu, cpu.bare, relayCpu / cpu.bare),
        row(
          'the same at the max sustained rate',
          atMax.worker + atMax.backend,
          atMax.bare,
          (atMax.worker + atMax.backend) / atMax.bare,
        ),
        row('RabbitMQ + Redis CPU s per 1,000 jobs (shared)', `${fmt(cpu.rabbitmq)} + ${fmt(cpu.redis)}`, '', ''),
        row(
          'peak RSS worker / backend, MB',
          `${fmt(rss.worker ?? NaN)} / ${fmt(rss.backend ?? NaN)}`,
          rss.bare ?? NaN,
          '',
        ),
        row(
          'Redis bytes per completed job (MEMORY USAGE)',
          f.cost.redisBytesPerJob,
          '',
          '',
          goal('Redis bytes per completed job'),
        ),
      ],
    },
    {
      title: 'retry-heavy: 30% of target answers 503 (maxRetries 3, retryDelay 100 ms)',
      head: ['measure', 'no 503', '30% 503', 'ratio', 'goal', 'result'],
      rows: [
        row('sustained throughput, jobs/s', f.throughput.relay, f.throughput.retry, r.retryThroughput),
        row(
          `first-attempt jobs p50 at ${LATENCY_RATE}/s, ms`,
          f.latency.relay.p50,
          f.latency.retryHealthy.p50,
          r.retryHealthyP50,
        ),
        row(
          `first-attempt jobs p99 at ${LATENCY_RATE}/s, ms`,
          f.latency.relay.p99,
          f.latency.retryHealthy.p99,
          r.retryHealthyP99,
          goal('first-attempt p99 with 30% 503 vs without'),
        ),
        row(
          `all jobs p50 / p99 at ${LATENCY_RATE}/s, ms`,
          `${fmt(f.latency.relay.p50)} / ${fmt(f.latency.relay.p99)}`,
          `${fmt(f.latency.retryAll.p50)} / ${fmt(f.latency.retryAll.p99)}`,
          '',
        ),
      ],
    },
  ];
}

/** Each run's figure, to show the spread behind the medians. */
export function perRun(runs: Runs): string[] {
  const list = (xs: number[]) => xs.map(fmt).join(', ');
  const { throughput: t, intake: i, latency: l } = runs;
  return [
    `sustained throughput, jobs/s: relay ${list(t.relay.map((r) => r.jobsPerSec))}; bare ${list(t.bare.map((r) => r.jobsPerSec))}; relay with 30% 503 ${list(t.retry.map((r) => r.jobsPerSec))}`,
    `intake, 202/s: relay ${list(i.relay.map((r) => r.acceptedPerSec))}; bare ${list(i.bare.map((r) => r.acceptedPerSec))}`,
    `p50 / p99 at ${LATENCY_RATE}/s, ms: relay ${l.relay.map((s) => `${fmt(s.latencyMs.p50)} / ${fmt(s.latencyMs.p99)}`).join(', ')}; ` +
      `bare ${l.bare.map((s) => `${fmt(s.latencyMs.p50)} / ${fmt(s.latencyMs.p99)}`).join(', ')}; ` +
      `first-attempt with 30% 503 ${l.retry.map((s) => `${fmt(s.healthyLatencyMs.p50)} / ${fmt(s.healthyLatencyMs.p99)}`).join(', ')}`,
    ...(runs.comparison ? comparisonPerRound(runs.comparison.runs) : []),
  ];
}

export function renderText(ts: Table[]): string {
  return ts
    .map((t) => {
      const cells = [t.head, ...t.rows.map((r) => r.map(fmt))];
      const widths = t.head.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
      const line = (r: string[]) =>
        r
          .map((c, i) => (i === 0 || i >= (t.leftFrom ?? 4) ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
          .join('  ')
          .trimEnd();
      return [t.title, line(cells[0]!), ...cells.slice(1).map(line)].join('\n');
    })
    .join('\n\n');
}

export function renderMarkdown(ts: Table[], meta: Meta, f: Figures, runs: Runs): string {
  const md = ts.map((t) => {
    const head = `| ${t.head.join(' | ')} |\n| ${t.head.map((_, i) => (i === 0 || i >= (t.leftFrom ?? 4) ? '---' : '---:')).join(' | ')} |`;
    return `### ${t.title}\n\n${head}\n${t.rows.map((r) => `| ${r.map(fmt).join(' | ')} |`).join('\n')}`;
  });
  const machine = Object.entries(meta.machine)
    .map(([k, v]) => `- ${k}: ${v}`)
    .join('\n');
  const settings = Object.entries(meta.settings)
    .map(([k, v]) => `- ${k}: ${v}`)
    .join('\n');
  return `# relay benchmark, ${meta.startedAt}

${md.join('\n\n')}

Per run:

${perRun(runs)
  .map((line) => `- ${line}`)
  .join('\n')}

Retried share at ${LATENCY_RATE}/s with 30% 503: ${fmt(f.latency.retriedShare * 100)}% of jobs needed more than one attempt.
Redis, cross-check: INFO used_memory grew ${fmt(f.cost.redisUsedMemoryDeltaPerJob)} bytes per job (whole shared server).
At the max sustained rate, per 1,000 jobs: worker ${fmt(f.cost.cpuSecondsPer1000JobsSustained.worker)} s, backend ${fmt(f.cost.cpuSecondsPer1000JobsSustained.backend)} s of CPU.
${runs.consoleStream ? `${describeConsoleStream(runs.consoleStream)}.\n` : ''}Background: a median ${fmt(f.otherCores)} cores per step were busy with work not accounted to the benchmark's processes (other users, kernel networking).

## Machine

${machine}

## Settings

${settings}

Finished ${meta.finishedAt}. Every step of every run is in the JSON next to this file.
`;
}

/** Writes `<stamp>.json` and `<stamp>.md`, and copies them to `latest.*`; returns the paths. */
export async function writeResults(
  dir: string,
  meta: Meta,
  runs: Runs,
  f: Figures,
  g: Goal[],
  markdown: string,
): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const stamp = meta.startedAt.replace(/[:.]/g, '-');
  const json = `${JSON.stringify({ ...meta, figures: f, goals: g, runs }, null, 2)}\n`;
  const files = [path.join(dir, `${stamp}.json`), path.join(dir, `${stamp}.md`)];
  await writeFile(files[0]!, json);
  await writeFile(files[1]!, markdown);
  await writeFile(path.join(dir, 'latest.json'), json);
  await writeFile(path.join(dir, 'latest.md'), markdown);
  return files;
}
