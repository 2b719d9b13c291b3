/**
 * The measures: one open-loop step (and whether the system kept up with it),
 * the rate ramp that finds the sustained throughput, closed-loop intake, and
 * latency at a fixed light rate. Each returns plain data for the report.
 */
import type { CallbackReceiver } from './callback-receiver.js';
import { closedLoop, openLoop, settled, type Batch, type Submitter } from './load-generator.js';
import { cpuDelta, machineCpuSeconds, readCpu, type CpuReading, type WatchedProcess } from './process-cost.js';
import { growthRate, percentile, round, summarize, type LatencySummary } from './stats.js';

/** A system under a kind of load: where jobs go, what they look like, which processes do the work. */
export interface Scenario {
  name: string;
  submitter: Submitter;
  /** Processes whose CPU is reported for this scenario (the load generator's own is added). */
  processes: WatchedProcess[];
  /** Called between batches, once every job has called back: relay empties its store. */
  reset(): Promise<void>;
}

export interface MeasureSettings {
  /** Length of one step of the throughput ramp (ms). */
  stepMs: number;
  /** Length of one step of the coarse calibration that picks where the ramp starts (ms). */
  calibrationStepMs: number;
  /** Each ramp step offers this many times the previous rate. */
  rampFactor: number;
  /** Open-loop rate of the latency measure (jobs/s). */
  latencyRate: number;
  latencyMs: number;
  intakeClients: number;
  intakeMs: number;
  /** How long a batch may take to be fully called back after its last submit before jobs count as lost (ms). */
  settleTimeoutMs: number;
}

export interface Context {
  receiver: CallbackReceiver;
  settings: MeasureSettings;
  log(line: string): void;
}

export interface StepResult {
  scenario: string;
  /** Offered rate (jobs/s), open loop. */
  rate: number;
  seconds: number;
  sent: number;
  accepted: number;
  refused: number;
  firstRefusal: string | null;
  callbacks: number;
  /** Callbacks per second during the step, after its warm-up. */
  completedPerSec: number;
  /** Growth of the backlog (submitted, not yet called back) after warm-up, jobs/s (see growthRate). */
  backlogGrowthPerSec: number;
  maxBacklog: number;
  /** From the last submit until every job had called back (ms); NaN if some never did. */
  settleMs: number;
  stable: boolean;
  /** Why the step is not stable (empty when it is). */
  problems: string[];
  /** Submit (due time) to callback, every job. */
  latencyMs: LatencySummary;
  /** The same for jobs that succeeded at their first attempt. */
  healthyLatencyMs: LatencySummary;
  /** Share of jobs that needed more than one attempt. */
  retriedShare: number;
  /** CPU seconds of each process from the step's start until it settled. */
  cpuSeconds: CpuReading;
  /** p99 of how late the generator sent jobs relative to their due time (ms): its own health. */
  senderLateP99Ms: number;
  /**
   * Cores busy on the whole machine during the step, and how many of those
   * were not accounted to the watched processes: other users' work, and the
   * kernel's softirq time for loopback traffic.
   */
  machineBusyCores: number;
  otherCores: number;
}

const BACKLOG_SAMPLE_MS = 100;
/** Growth of the backlog, as a share of the offered rate, beyond which a step is not sustained. */
const MAX_GROWTH_SHARE = 0.05;
/**
 * …and it must also have grown by more jobs than this over the step: at low
 * rates a backlog of a few jobs moves by a few jobs from noise alone (and
 * with retries it keeps filling for about a second as backoffs add up).
 */
const MIN_GROWTH_JOBS = 20;
/** A sustained step never has more than this much work (seconds of arrivals) outstanding. */
const MAX_BACKLOG_SECONDS = 1;
/** "All complete shortly after": the backlog left at the end must be gone within this (ms). */
const MAX_SETTLE_MS = 3000;

const self: WatchedProcess = { name: 'loadgen', pid: process.pid };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Offers `rate` jobs/s for `durationMs` and judges whether the system kept up:
 * every job accepted, the backlog flat after warm-up (growing by less than
 * 5% of the rate, or by fewer than 20 jobs over the step) and bounded (under
 * a second's worth of arrivals), and all called back within 3 s of the last
 * submit.
 */
export async function runStep(ctx: Context, scenario: Scenario, rate: number, durationMs: number): Promise<StepResult> {
  const batch = ctx.receiver.open(`${scenario.name} @${rate}/s`);
  const watched = [...scenario.processes, self];
  const cpu0 = readCpu(watched);
  const machine0 = machineCpuSeconds();
  const t0 = performance.now();
  const samples: { x: number; y: number }[] = [];
  const sampler = setInterval(
    () => samples.push({ x: (performance.now() - t0) / 1000, y: batch.outstanding }),
    BACKLOG_SAMPLE_MS,
  );
  await openLoop(scenario.submitter, batch, rate, durationMs);
  clearInterval(sampler);
  const tEnd = performance.now();
  const settleMs = await settled(batch, ctx.settings.settleTimeoutMs);
  const cpu = cpuDelta(cpu0, readCpu(watched));
  const machine1 = machineCpuSeconds();
  const wallS = (performance.now() - t0) / 1000;
  ctx.receiver.close(batch);
  const machineBusyCores = (machine1.busy - machine0.busy) / wallS;
  const ourCores = Object.values(cpu).reduce((a, b) => a + (Number.isFinite(b) ? b : 0), 0) / wallS;

  const seconds = durationMs / 1000;
  // The backlog's steady level takes a moment to build (longer with retries,
  // whose backoffs add up to about a second): judge its growth after that.
  const warmS = Math.min(2, 0.3 * seconds);
  const window = samples.filter((s) => s.x >= warmS);
  const growth = growthRate(window);
  const maxBacklog = Math.max(0, ...samples.map((s) => s.y));
  const completedInWindow = batch.calledBackAt.filter((at) => at >= t0 + warmS * 1000 && at <= tEnd).length;

  const problems: string[] = [];
  if (batch.refused > 0) problems.push(`${batch.refused} refused (${batch.firstRefusal})`);
  if (Number.isNaN(settleMs)) problems.push(`${batch.outstanding} never called back`);
  else if (settleMs > MAX_SETTLE_MS) problems.push(`took ${(settleMs / 1000).toFixed(1)} s to drain`);
  const windowS = seconds - warmS;
  if (growth > Math.max(MAX_GROWTH_SHARE * rate, MIN_GROWTH_JOBS / windowS)) {
    problems.push(`backlog grew ${Math.round(growth)}/s`);
  }
  if (maxBacklog > Math.max(50, rate * MAX_BACKLOG_SECONDS)) problems.push(`backlog reached ${maxBacklog}`);

  const healthy = (seq: number) => batch.attempts[seq] === 1;
  const retried = batch.attempts.filter((a) => a > 1).length;
  return {
    scenario: scenario.name,
    rate,
    seconds,
    sent: batch.sent,
    accepted: batch.accepted,
    refused: batch.refused,
    firstRefusal: batch.firstRefusal,
    callbacks: batch.callbacks,
    completedPerSec: round(completedInWindow / windowS),
    backlogGrowthPerSec: round(growth),
    maxBacklog,
    settleMs: round(settleMs),
    stable: problems.length === 0,
    problems,
    latencyMs: roundSummary(summarize(batch.latencies())),
    healthyLatencyMs: roundSummary(summarize(batch.latencies(healthy))),
    retriedShare: round(batch.callbacks ? retried / batch.callbacks : 0),
    cpuSeconds: Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, round(v)])),
    senderLateP99Ms: round(percentile(batch.sendLateness, 99)),
    machineBusyCores: hundredths(machineBusyCores),
    otherCores: hundredths(Math.max(0, machineBusyCores - ourCores)),
  };
}

const hundredths = (x: number) => Math.round(x * 100) / 100;

function roundSummary(s: LatencySummary): LatencySummary {
  return { count: s.count, p50: round(s.p50), p90: round(s.p90), p99: round(s.p99), max: round(s.max) };
}

function describe(step: StepResult): string {
  const verdict = step.stable ? 'kept up' : `NOT sustained: ${step.problems.join('; ')}`;
  const late = step.senderLateP99Ms > 10 ? `, sender late p99 ${step.senderLateP99Ms} ms` : '';
  return (
    `${step.rate}/s for ${step.seconds} s: ${verdict} ` +
    `(backlog max ${step.maxBacklog}, growth ${step.backlogGrowthPerSec}/s; p50 ${step.latencyMs.p50} ms${late}; ` +
    `${step.machineBusyCores} cores busy, ${step.otherCores} not ours)`
  );
}

/** One step, logged, then the store emptied. */
async function step(ctx: Context, scenario: Scenario, rate: number, ms: number, what: string): Promise<StepResult> {
  const result = await runStep(ctx, scenario, rate, ms);
  ctx.log(`${scenario.name} ${what}: ${describe(result)}`);
  await scenario.reset();
  return result;
}

/**
 * A coarse first look at where the ramp should start, with short steps:
 * doubling from 100 jobs/s until a step is not sustained (halving from 100
 * if even that was not), then two bisections (geometric) between the last
 * sustained rate and the first that was not. Returns the highest rate
 * sustained.
 */
export async function calibrate(ctx: Context, scenario: Scenario): Promise<{ start: number; steps: StepResult[] }> {
  const steps: StepResult[] = [];
  const tryRate = async (rate: number) => {
    const s = await step(ctx, scenario, rate, ctx.settings.calibrationStepMs, 'calibration');
    steps.push(s);
    return s.stable;
  };
  let lo = 0;
  let hi = 100;
  while (hi <= 50_000 && (await tryRate(hi))) {
    lo = hi;
    hi *= 2;
  }
  if (lo === 0) {
    for (hi = 50; hi >= 10 && !(await tryRate(hi)); hi /= 2);
    lo = Math.max(10, hi);
    hi = lo * 2;
  }
  for (let i = 0; i < 2; i++) {
    const mid = Math.round(Math.sqrt(lo * hi));
    if (await tryRate(mid)) lo = mid;
    else hi = mid;
  }
  return { start: lo, steps };
}

/**
 * The sustained throughput: steps the open-loop rate up from `start` by the
 * ramp factor until a step is not sustained; the figure is the highest rate
 * that was. If the very first step is not sustained, steps down instead;
 * 0 when no step down was sustained either.
 */
export async function ramp(
  ctx: Context,
  scenario: Scenario,
  start: number,
  label: string,
): Promise<{ jobsPerSec: number; completedPerSec: number; steps: StepResult[] }> {
  const { rampFactor, stepMs } = ctx.settings;
  const steps: StepResult[] = [];
  let best: StepResult | null = null;
  for (let rate = start, k = 0; k < 12; k++, rate = Math.round(rate * rampFactor)) {
    const s = await step(ctx, scenario, rate, stepMs, label);
    steps.push(s);
    if (!s.stable) break;
    best = s;
  }
  // Down in growing strides (÷f, ÷f², ÷f³…): a calibration that overshot
  // (a short step judged kept up while it drained) is left in a few steps.
  for (let rate = start, k = 1; !best && k <= 8; k++) {
    rate = Math.round(rate / rampFactor ** k);
    const s = await step(ctx, scenario, rate, stepMs, label);
    steps.push(s);
    if (s.stable) best = s;
  }
  return { jobsPerSec: best?.rate ?? 0, completedPerSec: best?.completedPerSec ?? 0, steps };
}

export interface IntakeResult {
  /** 202s per second during the window. */
  acceptedPerSec: number;
  refused: number;
  firstRefusal: string | null;
  /** From the end of the window until the backlog it left had called back (ms). */
  drainMs: number;
}

/** Closed loop: `intakeClients` clients submitting back to back; counts the 202s. */
export async function intake(ctx: Context, scenario: Scenario, label: string): Promise<IntakeResult> {
  const { intakeClients, intakeMs, settleTimeoutMs } = ctx.settings;
  const batch: Batch = ctx.receiver.open(`${scenario.name} intake`);
  const { acceptedInWindow, seconds } = await closedLoop(scenario.submitter, batch, intakeClients, intakeMs);
  // The jobs go on running after the window: let them finish before the next measure.
  const drainMs = await settled(batch, Math.max(settleTimeoutMs, 120_000));
  ctx.receiver.close(batch);
  await scenario.reset();
  const result = {
    acceptedPerSec: Math.round(acceptedInWindow / seconds),
    refused: batch.refused,
    firstRefusal: batch.firstRefusal,
    drainMs: round(drainMs),
  };
  ctx.log(
    `${scenario.name} ${label}: ${result.acceptedPerSec} accepted/s with ${intakeClients} clients` +
      `${batch.refused ? `, ${batch.refused} refused (${batch.firstRefusal})` : ''}; backlog drained in ${(drainMs / 1000).toFixed(1)} s`,
  );
  return result;
}

/** Latency at a fixed light open-loop rate; `inspect` runs once every job has called back, before the store is emptied. */
export async function latency<T>(
  ctx: Context,
  scenario: Scenario,
  label: string,
  inspect?: () => Promise<T>,
): Promise<{ step: StepResult; inspected: T | undefined }> {
  const result = await runStep(ctx, scenario, ctx.settings.latencyRate, ctx.settings.latencyMs);
  const inspected = inspect ? await inspect() : undefined;
  await scenario.reset();
  const l = result.latencyMs;
  const h = result.healthyLatencyMs;
  const healthy = result.retriedShare > 0 ? `; first-attempt jobs p50 ${h.p50}, p99 ${h.p99} ms` : '';
  ctx.log(
    `${scenario.name} ${label}: ${result.rate}/s for ${result.seconds} s: p50 ${l.p50} ms, p90 ${l.p90}, p99 ${l.p99}${healthy}` +
      `${result.stable ? '' : ` (NOT sustained: ${result.problems.join('; ')})`}; ` +
      `${result.machineBusyCores} cores busy, ${result.otherCores} not ours`,
  );
  return { step: result, inspected };
}

export { sleep };
