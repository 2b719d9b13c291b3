import { describe, expect, it } from 'vitest';
import type { ComparisonRuns, SystemName, SystemRound } from './comparison.js';
import { comparisonFigures, comparisonGoals, comparisonTables, type SystemFigures } from './comparison-report.js';
import type { StepResult } from './measures.js';

/** An open-loop step with what the figures read: latency, callbacks, CPU seconds. */
function step(
  rate: number,
  p50: number,
  p99: number,
  callbacks: number,
  cpuSeconds: Record<string, number>,
): StepResult {
  const summary = { count: callbacks, p50, p90: p99, p99, max: p99 };
  return {
    scenario: 'x',
    rate,
    seconds: 10,
    sent: callbacks,
    accepted: callbacks,
    refused: 0,
    firstRefusal: null,
    callbacks,
    completedPerSec: rate,
    backlogGrowthPerSec: 0,
    maxBacklog: 0,
    settleMs: 0,
    stable: true,
    problems: [],
    latencyMs: summary,
    healthyLatencyMs: summary,
    retriedShare: 0,
    cpuSeconds,
    senderLateP99Ms: 0,
    machineBusyCores: 1,
    otherCores: 0,
  };
}

function round(
  e2e: number,
  intake: number,
  sustained: number,
  own: Record<string, number>,
  brokers: number,
): SystemRound {
  return {
    closed: { jobs: 10_000, refused: 0, firstRefusal: null, intakePerSec: intake, endToEndPerSec: e2e },
    sustained: { jobsPerSec: sustained, completedPerSec: sustained, steps: [] },
    open: {
      200: step(200, 1, 5, 2000, {}),
      // 8,000 jobs: 0.8 s of CPU is 100 µs per job.
      800: step(800, 2, 10, 8000, { ...own, rabbitmq: brokers / 2, redis: brokers / 2 }),
    },
  };
}

function runs(rounds: Record<SystemName, SystemRound[]>): ComparisonRuns {
  return {
    settings: { jobs: 10_000, clients: 64, rounds: 2, rates: [200, 800], openMs: 10_000 },
    own: { relay: ['backend', 'worker'], floor: ['floor'], bullmq: ['bullmq'], bare: ['bare'] },
    calibration: {
      relay: { start: 1, steps: [] },
      floor: { start: 1, steps: [] },
      bullmq: { start: 1, steps: [] },
      bare: { start: 1, steps: [] },
    },
    rounds,
  };
}

describe('comparisonFigures', () => {
  it('takes medians over rounds and sums the own processes per job at 800/s', () => {
    const f = comparisonFigures(
      runs({
        relay: [
          round(900, 1000, 950, { backend: 0.4, worker: 0.8 }, 1.6),
          round(1100, 1200, 1050, { backend: 0.4, worker: 0.8 }, 1.6),
        ],
        floor: [round(1000, 1000, 1000, { floor: 0.8 }, 0.8)],
        bullmq: [round(1000, 1000, 1000, { bullmq: 1.6 }, 0.8)],
        bare: [round(5000, 5000, 5000, { bare: 0.4 }, 0)],
      }),
    );
    expect(f.relay.endToEndPerSec).toBe(1000);
    expect(f.relay.intakePerSec).toBe(1100);
    expect(f.relay.sustainedPerSec).toBe(1000);
    expect(f.relay.ownCpuUsPerJob).toBe(150);
    expect(f.relay.brokerCpuUsPerJob).toBe(200);
    expect(f.relay.rabbitmqCpuUsPerJob).toBe(100);
    expect(f.floor.ownCpuUsPerJob).toBe(100);
    expect(f.relay.latency[800]).toEqual({ p50: 2, p99: 10 });
  });
});

describe('comparisonGoals', () => {
  const fig = (over: Partial<SystemFigures>): SystemFigures => ({
    endToEndPerSec: 1000,
    intakePerSec: 1000,
    sustainedPerSec: 1000,
    latency: { 800: { p50: 1, p99: 4 } },
    ownCpuUsPerJob: 500,
    rabbitmqCpuUsPerJob: 200,
    redisCpuUsPerJob: 100,
    brokerCpuUsPerJob: 300,
    ...over,
  });
  const other = { redisBytesPerJob: 1500, soak: null };

  it('passes each goal at its bound, in the direction the issue states', () => {
    const floor = fig({});
    const goals = comparisonGoals(
      {
        relay: fig({
          endToEndPerSec: 900,
          intakePerSec: 900,
          sustainedPerSec: 900,
          ownCpuUsPerJob: 600,
          brokerCpuUsPerJob: 360,
          latency: { 800: { p50: 1.5, p99: 8 } },
        }),
        floor,
        bullmq: fig({ ownCpuUsPerJob: 600 }),
        bare: fig({}),
      },
      other,
    );
    expect(goals.filter((g) => g.pass === false)).toEqual([]);
    expect(goals.map((g) => g.value).slice(0, 8)).toEqual([0.9, 0.9, 0.9, 1.2, 1, 1.2, 1.5, 2]);
    expect(goals.at(-1)!.pass).toBeNull();
  });

  it('fails each goal just past its bound', () => {
    const goals = comparisonGoals(
      {
        relay: fig({
          endToEndPerSec: 899,
          intakePerSec: 899,
          sustainedPerSec: 899,
          ownCpuUsPerJob: 601,
          brokerCpuUsPerJob: 361,
          latency: { 800: { p50: 1.51, p99: 8.1 } },
        }),
        floor: fig({}),
        bullmq: fig({ ownCpuUsPerJob: 600 }),
        bare: fig({}),
      },
      { redisBytesPerJob: 2048, soak: { file: 'soak-x.json', slopeMiBPer10kJobs: 0.1 } },
    );
    expect(goals.slice(0, 9).map((g) => g.pass)).toEqual(Array(9).fill(false));
    expect(goals.at(-1)!.value).toBe(0.1);
  });

  it('renders a figures table and a goals table with a result per goal', () => {
    const r = runs({
      relay: [round(900, 900, 900, { backend: 0.4, worker: 0.4 }, 0.8)],
      floor: [round(1000, 1000, 1000, { floor: 0.8 }, 0.8)],
      bullmq: [round(1000, 1000, 1000, { bullmq: 0.8 }, 0.8)],
      bare: [round(5000, 5000, 5000, { bare: 0.4 }, 0)],
    });
    const figures = comparisonFigures(r);
    const goals = comparisonGoals(figures, other);
    const [table, goalTable] = comparisonTables({ runs: r, figures, goals });
    expect(table!.head).toEqual(['measure', 'relay', 'floor', 'BullMQ', 'bare', 'relay/floor', 'relay/BullMQ']);
    expect(table!.rows[0]!.slice(1)).toEqual([900, 1000, 1000, 5000, 0.9, 0.9]);
    expect(goalTable!.rows.map((row) => row.at(-1))).toEqual([...Array(8).fill('PASS'), 'PASS', 'not judged here']);
  });
});
