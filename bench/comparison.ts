/**
 * Issue 16's measures: relay against the durable floor (bench/floor/), the
 * BullMQ build (bench/bullmq-build/) and the bare pipeline, each alone under
 * load, in interleaved rounds (the order rotates each round, so no system
 * always runs first after a pause or last on a warm machine).
 *
 * Per system and round: a closed loop of N jobs from 64 clients (end-to-end
 * jobs/s, first submit to last callback, and intake 202/s, first submit to
 * last 202); the sustained open-loop rate (the ramp of measures.ts, from
 * where a calibration in the first round put it); open loops at 200 and 800
 * jobs/s (latency, and CPU per job of the system's own processes and of
 * RabbitMQ + Redis).
 */
import { closedLoopJobs, settled } from './load-generator.js';
import { calibrate, ramp, runStep, type Context, type Scenario, type StepResult } from './measures.js';
import type { RampRun } from './report.js';
import { round } from './stats.js';

export const SYSTEMS = ['relay', 'floor', 'bullmq', 'bare'] as const;
export type SystemName = (typeof SYSTEMS)[number];

/** A system and the names (in its scenario's processes) of the processes that are its own. */
export interface ComparedSystem {
  scenario: Scenario;
  own: string[];
}

export interface ComparisonSettings {
  /** Jobs of one closed loop. */
  jobs: number;
  clients: number;
  rounds: number;
  /** Open-loop rates of the latency and cost measures (jobs/s). */
  rates: readonly number[];
  /** Length of each open loop (ms). */
  openMs: number;
}

export interface ClosedLoopResult {
  jobs: number;
  refused: number;
  firstRefusal: string | null;
  /** Jobs over first submit to last 202. */
  intakePerSec: number;
  /** Jobs over first submit to last callback; NaN if some never called back. */
  endToEndPerSec: number;
}

export interface SystemRound {
  closed: ClosedLoopResult;
  sustained: RampRun;
  /** The open loops, by rate. */
  open: Record<string, StepResult>;
}

export interface ComparisonRuns {
  settings: ComparisonSettings;
  own: Record<SystemName, string[]>;
  /** The first round's calibration of each system, where every round's ramp starts. */
  calibration: Record<SystemName, { start: number; steps: StepResult[] }>;
  rounds: Record<SystemName, SystemRound[]>;
}

async function closedLoop(ctx: Context, s: Scenario, settings: ComparisonSettings): Promise<ClosedLoopResult> {
  const batch = ctx.receiver.open(`${s.name} closed loop`);
  const { startedAt, lastAcceptedAt } = await closedLoopJobs(s.submitter, batch, settings.clients, settings.jobs);
  const settleMs = await settled(batch, Math.max(ctx.settings.settleTimeoutMs, 120_000));
  ctx.receiver.close(batch);
  await s.reset();
  const lastCallbackAt = batch.calledBackAt.reduce((a, b) => (Number.isNaN(b) ? a : Math.max(a, b)), -Infinity);
  const perSec = (until: number) => round(batch.accepted / ((until - startedAt) / 1000));
  return {
    jobs: batch.sent,
    refused: batch.refused,
    firstRefusal: batch.firstRefusal,
    intakePerSec: perSec(lastAcceptedAt),
    endToEndPerSec: Number.isNaN(settleMs) ? Number.NaN : perSec(lastCallbackAt),
  };
}

async function openLoop(ctx: Context, s: Scenario, rate: number, ms: number, label: string): Promise<StepResult> {
  const step = await runStep(ctx, s, rate, ms);
  await s.reset();
  const l = step.latencyMs;
  ctx.log(
    `${s.name} ${label}: ${rate}/s for ${step.seconds} s: p50 ${l.p50} ms, p99 ${l.p99}` +
      `${step.stable ? '' : ` (NOT sustained: ${step.problems.join('; ')})`}; ` +
      `${step.machineBusyCores} cores busy, ${step.otherCores} not ours`,
  );
  return step;
}

export async function compare(
  ctx: Context,
  systems: Record<SystemName, ComparedSystem>,
  settings: ComparisonSettings,
): Promise<ComparisonRuns> {
  const rounds = Object.fromEntries(SYSTEMS.map((n) => [n, [] as SystemRound[]])) as Record<SystemName, SystemRound[]>;
  const calibration = {} as ComparisonRuns['calibration'];
  for (let r = 0; r < settings.rounds; r++) {
    const order = SYSTEMS.map((_, i) => SYSTEMS[(i + r) % SYSTEMS.length]!);
    const label = `round ${r + 1}/${settings.rounds}`;
    for (const name of order) {
      const s = systems[name].scenario;
      const closed = await closedLoop(ctx, s, settings);
      ctx.log(
        `${s.name} ${label}: closed loop of ${settings.jobs} jobs from ${settings.clients} clients: ` +
          `${closed.endToEndPerSec} jobs/s end to end, ${closed.intakePerSec} 202/s` +
          `${closed.refused ? `, ${closed.refused} refused (${closed.firstRefusal})` : ''}`,
      );
      // Not from the closed-loop figure: a system much slower under a burst
      // of 64 clients than under an even rate (relay, on a loaded machine)
      // would start its ramp too low for its 12 steps to reach its sustained rate.
      calibration[name] ??= await calibrate(ctx, s);
      const sustained = await ramp(ctx, s, calibration[name].start, `sustained rate ${label}`);
      const open: Record<string, StepResult> = {};
      for (const rate of settings.rates) open[rate] = await openLoop(ctx, s, rate, settings.openMs, label);
      rounds[name].push({ closed, sustained, open });
    }
  }
  const own = Object.fromEntries(SYSTEMS.map((n) => [n, systems[n].own])) as Record<SystemName, string[]>;
  return { settings, own, calibration, rounds };
}
