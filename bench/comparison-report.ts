/**
 * Issue 16's figures and goals: medians over the comparison's rounds for
 * each system, relay's ratios to the durable floor and the BullMQ build, and
 * a pass/fail for each goal of the issue, as tables for report.ts to render.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { SYSTEMS, type ComparisonRuns, type SystemName } from './comparison.js';
import type { StepResult } from './measures.js';
import type { Table } from './report.js';
import { median, round } from './stats.js';

/** The rate at which the issue compares CPU per job and latency. */
export const COST_RATE = 800;

export interface SystemFigures {
  endToEndPerSec: number;
  intakePerSec: number;
  sustainedPerSec: number;
  /** p50 and p99 submit-to-callback (ms), by open-loop rate. */
  latency: Record<string, { p50: number; p99: number }>;
  /** CPU of the system's own processes per job called back at COST_RATE (µs). */
  ownCpuUsPerJob: number;
  rabbitmqCpuUsPerJob: number;
  redisCpuUsPerJob: number;
  /** RabbitMQ + Redis (whole servers, shared with anyone else using them). */
  brokerCpuUsPerJob: number;
}

export interface ComparisonGoal {
  name: string;
  /** What relay is compared with; null for an absolute goal. */
  versus: 'floor' | 'bullmq' | null;
  relay: number;
  yardstick: number;
  /** relay / yardstick, or relay's own figure for an absolute goal. */
  value: number;
  target: string;
  /** null: not measured by `pnpm bench`. */
  pass: boolean | null;
}

export interface ComparisonResult {
  runs: ComparisonRuns;
  figures: Record<SystemName, SystemFigures>;
  goals: ComparisonGoal[];
}

/** What the rest of the benchmark measured that the goals also name. */
export interface OtherFigures {
  redisBytesPerJob: number;
  /** The worker's RSS slope over the latest `pnpm bench:soak`, if one was run here. */
  soak: { file: string; slopeMiBPer10kJobs: number } | null;
}

const m = (xs: number[]) => round(median(xs));
const usPerJob = (s: StepResult | undefined, names: string[]) => {
  if (!s || s.callbacks === 0) return Number.NaN;
  const cpu = names.reduce((sum, n) => sum + (s.cpuSeconds[n] ?? Number.NaN), 0);
  return (cpu / s.callbacks) * 1e6;
};

export function comparisonFigures(runs: ComparisonRuns): Record<SystemName, SystemFigures> {
  const one = (name: SystemName): SystemFigures => {
    const rounds = runs.rounds[name];
    const at = (rate: number) => rounds.map((r) => r.open[rate]);
    const cost = at(COST_RATE);
    const rabbitmq = m(cost.map((s) => usPerJob(s, ['rabbitmq'])));
    const redis = m(cost.map((s) => usPerJob(s, ['redis'])));
    return {
      endToEndPerSec: m(rounds.map((r) => r.closed.endToEndPerSec)),
      intakePerSec: m(rounds.map((r) => r.closed.intakePerSec)),
      sustainedPerSec: m(rounds.map((r) => r.sustained.jobsPerSec)),
      latency: Object.fromEntries(
        runs.settings.rates.map((rate) => [
          rate,
          {
            p50: m(at(rate).map((s) => s?.latencyMs.p50 ?? NaN)),
            p99: m(at(rate).map((s) => s?.latencyMs.p99 ?? NaN)),
          },
        ]),
      ),
      ownCpuUsPerJob: m(cost.map((s) => usPerJob(s, runs.own[name]))),
      rabbitmqCpuUsPerJob: rabbitmq,
      redisCpuUsPerJob: redis,
      brokerCpuUsPerJob: m(cost.map((s) => usPerJob(s, ['rabbitmq', 'redis']))),
    };
  };
  return Object.fromEntries(SYSTEMS.map((n) => [n, one(n)])) as Record<SystemName, SystemFigures>;
}

const REDIS_BYTES_GOAL = 2048;

/** The goals of issue 16, in its order. */
export function comparisonGoals(f: Record<SystemName, SystemFigures>, other: OtherFigures): ComparisonGoal[] {
  const { relay, floor, bullmq } = f;
  const p = (fig: SystemFigures, which: 'p50' | 'p99') => fig.latency[COST_RATE]?.[which] ?? NaN;
  const atLeast = (name: string, a: number, b: number, min: number): ComparisonGoal => ({
    name,
    versus: 'floor',
    relay: a,
    yardstick: b,
    value: round(a / b),
    target: `≥ ${min}× the floor`,
    pass: a / b >= min,
  });
  const atMost = (name: string, versus: 'floor' | 'bullmq', a: number, b: number, max: number): ComparisonGoal => ({
    name,
    versus,
    relay: a,
    yardstick: b,
    value: round(a / b),
    target: `≤ ${max}× ${versus === 'floor' ? 'the floor' : 'BullMQ'}`,
    pass: a / b <= max,
  });
  return [
    atLeast('end-to-end jobs/s, closed loop', relay.endToEndPerSec, floor.endToEndPerSec, 0.9),
    atLeast('sustained open-loop rate', relay.sustainedPerSec, floor.sustainedPerSec, 0.9),
    atLeast('intake 202/s, closed loop', relay.intakePerSec, floor.intakePerSec, 0.9),
    atMost(`own CPU per job at ${COST_RATE}/s`, 'floor', relay.ownCpuUsPerJob, floor.ownCpuUsPerJob, 1.2),
    atMost(`own CPU per job at ${COST_RATE}/s`, 'bullmq', relay.ownCpuUsPerJob, bullmq.ownCpuUsPerJob, 1),
    atMost(
      `RabbitMQ + Redis CPU per job at ${COST_RATE}/s`,
      'floor',
      relay.brokerCpuUsPerJob,
      floor.brokerCpuUsPerJob,
      1.2,
    ),
    atMost(`p50 at ${COST_RATE}/s`, 'floor', p(relay, 'p50'), p(floor, 'p50'), 1.5),
    atMost(`p99 at ${COST_RATE}/s`, 'bullmq', p(relay, 'p99'), p(bullmq, 'p99'), 2),
    {
      name: 'Redis bytes per finished small job',
      versus: null,
      relay: other.redisBytesPerJob,
      yardstick: Number.NaN,
      value: other.redisBytesPerJob,
      target: '< 2 KB',
      // NaN: measured by pnpm bench's phase 3, not by bench:compare.
      pass: Number.isNaN(other.redisBytesPerJob) ? null : other.redisBytesPerJob < REDIS_BYTES_GOAL,
    },
    {
      name: 'worker RSS slope over pnpm bench:soak, MiB per 10k jobs',
      versus: null,
      relay: other.soak?.slopeMiBPer10kJobs ?? Number.NaN,
      yardstick: Number.NaN,
      value: other.soak?.slopeMiBPer10kJobs ?? Number.NaN,
      target: other.soak ? `flat (${other.soak.file})` : 'flat (run pnpm bench:soak)',
      pass: null,
    },
  ];
}

/** The worker's slope in the newest `soak-*.json` under `dir`, if any: the soak is its own command. */
export async function latestSoak(dir: string): Promise<OtherFigures['soak']> {
  try {
    const files = (await readdir(dir)).filter((f) => /^soak-.*\.json$/.test(f)).sort();
    const file = files.at(-1);
    if (!file) return null;
    const soak = JSON.parse(await readFile(path.join(dir, file), 'utf8')) as {
      worker?: { secondHalfSlopeMiBPer10kJobs?: number };
    };
    const slope = soak.worker?.secondHalfSlopeMiBPer10kJobs;
    return typeof slope === 'number' ? { file, slopeMiBPer10kJobs: round(slope) } : null;
  } catch {
    return null;
  }
}

const LABELS: Record<SystemName, string> = { relay: 'relay', floor: 'floor', bullmq: 'BullMQ', bare: 'bare' };

export function comparisonTables(result: ComparisonResult): Table[] {
  const { figures: f, goals, runs } = result;
  const { rounds, jobs, clients } = runs.settings;
  const row = (label: string, pick: (s: SystemFigures) => number) => {
    const [relay, floor, bullmq] = [pick(f.relay), pick(f.floor), pick(f.bullmq)];
    return [label, ...SYSTEMS.map((n) => pick(f[n])), relay / floor, relay / bullmq];
  };
  const latencyRows = runs.settings.rates.flatMap((rate) => [
    row(`p50 at ${rate} jobs/s, ms`, (s) => s.latency[rate]?.p50 ?? NaN),
    row(`p99 at ${rate} jobs/s, ms`, (s) => s.latency[rate]?.p99 ?? NaN),
  ]);
  const yardstick = (g: ComparisonGoal) => (g.versus === 'floor' ? 'floor' : g.versus === 'bullmq' ? 'BullMQ' : '');
  return [
    {
      title: `relay, the durable floor, the BullMQ build and the bare pipeline (median of ${rounds} interleaved round${rounds === 1 ? '' : 's'})`,
      head: ['measure', ...SYSTEMS.map((n) => LABELS[n]), 'relay/floor', 'relay/BullMQ'],
      leftFrom: 7,
      rows: [
        row(`end-to-end jobs/s, closed loop (${jobs} jobs, ${clients} clients)`, (s) => s.endToEndPerSec),
        row('sustained open-loop rate, jobs/s', (s) => s.sustainedPerSec),
        row(`intake 202/s, closed loop`, (s) => s.intakePerSec),
        ...latencyRows,
        row(`own processes' CPU per job at ${COST_RATE}/s, µs`, (s) => s.ownCpuUsPerJob),
        row(`RabbitMQ + Redis CPU per job at ${COST_RATE}/s, µs (shared)`, (s) => s.brokerCpuUsPerJob),
        row(`  of which RabbitMQ, µs`, (s) => s.rabbitmqCpuUsPerJob),
        row(`  of which Redis, µs`, (s) => s.redisCpuUsPerJob),
      ],
    },
    {
      title: 'the goals of issue 16',
      head: ['goal', 'relay', 'yardstick', 'ratio', 'target', 'result'],
      rows: goals.map((g) => [
        g.name,
        g.relay,
        g.versus ? `${yardstick(g)} ${fmtPlain(g.yardstick)}` : '',
        g.versus ? g.value : '',
        g.target,
        g.pass === null ? 'not judged here' : g.pass ? 'PASS' : 'FAIL',
      ]),
    },
  ];
}

const fmtPlain = (v: number) =>
  !Number.isFinite(v) ? '—' : Math.abs(v) >= 100 ? Math.round(v).toLocaleString('en-US') : String(round(v));

/** Each round's figures per system, to show the spread behind the medians. */
export function comparisonPerRound(runs: ComparisonRuns): string[] {
  const list = (pick: (r: ComparisonRuns['rounds'][SystemName][number]) => string) =>
    SYSTEMS.map((n) => `${LABELS[n]} ${runs.rounds[n].map(pick).join(', ')}`).join('; ');
  const ms = (s: StepResult | undefined) => (s ? `${fmtPlain(s.latencyMs.p50)} / ${fmtPlain(s.latencyMs.p99)}` : '—');
  return [
    `closed loop, end-to-end jobs/s: ${list((r) => fmtPlain(r.closed.endToEndPerSec))}`,
    `closed loop, intake 202/s: ${list((r) => fmtPlain(r.closed.intakePerSec))}`,
    `sustained open-loop rate, jobs/s: ${list((r) => fmtPlain(r.sustained.jobsPerSec))}`,
    ...runs.settings.rates.map((rate) => `p50 / p99 at ${rate}/s, ms: ${list((r) => ms(r.open[rate]))}`),
  ];
}
