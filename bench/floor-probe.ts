/**
 * `pnpm bench:floor`: relay against the durable floor (bench/floor/) alone,
 * in alternated open loops at the given rates: p50/p99 from submit to
 * callback and CPU per job (relay's own processes or the floor's, and the
 * shared RabbitMQ and Redis), with relay/floor ratios per pair. A quick
 * check of one change against issue 16's yardstick (a few minutes); the
 * full comparison, with the BullMQ build and the bare pipeline, is phase 5
 * of `pnpm bench`.
 *
 *   pnpm bench:floor [--rates 200,800] [--seconds 10] [--pairs 2]
 */
import { parseArgs } from 'node:util';
import { request } from 'undici';
import { submitPool } from './load-generator.js';
import { runStep, type Scenario, type StepResult } from './measures.js';
import { relayScenario, runStandalone, secondsLog, standaloneContext } from './standalone.js';
import { median, round } from './stats.js';

const { values: args } = parseArgs({
  options: {
    rates: { type: 'string', default: '200,800' },
    seconds: { type: 'string', default: '10' },
    pairs: { type: 'string', default: '2' },
  },
});
const rates = args.rates.split(',').map(Number);
const stepMs = Math.round(Number(args.seconds) * 1000);
const pairs = Number(args.pairs);
if (!rates.every((r) => r > 0) || !(stepMs >= 500) || !(pairs >= 1)) {
  console.error('usage: pnpm bench:floor [--rates R1,R2 (jobs/s)] [--seconds S >= 0.5] [--pairs N >= 1]');
  process.exit(2);
}

const log = secondsLog();

interface Figures {
  p50: number;
  p99: number;
  ownMicros: number;
  rabbitmqMicros: number;
  redisMicros: number;
}

function figures(step: StepResult, own: readonly string[]): Figures {
  const perJob = (names: readonly string[]) =>
    (names.reduce((sum, n) => sum + (step.cpuSeconds[n] ?? Number.NaN), 0) * 1e6) / Math.max(1, step.accepted);
  return {
    p50: step.latencyMs.p50,
    p99: step.latencyMs.p99,
    ownMicros: perJob(own),
    rabbitmqMicros: perJob(['rabbitmq']),
    redisMicros: perJob(['redis']),
  };
}

await runStandalone(log, async (s) => {
  const relayPool = submitPool(s.relayOrigin, 128);
  const floorPool = submitPool(s.floorOrigin, 128);
  const relay: Scenario = {
    ...relayScenario(s, relayPool, 'relay'),
    processes: [s.processes.backend, s.processes.worker, s.processes.target, ...s.servers],
  };
  const floorBase = relayScenario(s, floorPool, 'floor');
  const floor: Scenario = {
    ...floorBase,
    // The same job body; the floor takes it at /jobs.
    submitter: { ...floorBase.submitter, path: '/jobs' },
    processes: [s.processes.floor, s.processes.target, ...s.servers],
    reset: async () => {
      const res = await request(`${s.floorOrigin}/reset`, { method: 'POST' });
      await res.body.dump();
    },
  };
  const own = { relay: [s.processes.backend.name, s.processes.worker.name], floor: [s.processes.floor.name] };
  const ctx = standaloneContext(s, log, { stepMs, settleTimeoutMs: 60_000 });
  log('warm-up of both (JIT, connection pools), not recorded');
  for (const sc of [relay, floor]) {
    await runStep(ctx, sc, 200, 2000);
    await sc.reset();
  }
  const results: Record<string, { relay: Figures[]; floor: Figures[] }> = {};
  for (const rate of rates) {
    results[rate] = { relay: [], floor: [] };
    for (let pair = 0; pair < pairs; pair++) {
      // Alternate which goes first, so neither always runs on a warmer machine.
      const order = pair % 2 === 0 ? (['relay', 'floor'] as const) : (['floor', 'relay'] as const);
      for (const name of order) {
        const sc = name === 'relay' ? relay : floor;
        const step = await runStep(ctx, sc, rate, stepMs);
        await sc.reset();
        const f = figures(step, own[name]);
        results[rate]![name].push(f);
        log(
          `${name} @${rate}/s: p50 ${round(f.p50)} ms, p99 ${round(f.p99)} ms, own ${Math.round(f.ownMicros)} µs/job, ` +
            `RabbitMQ ${Math.round(f.rabbitmqMicros)} µs/job, Redis ${Math.round(f.redisMicros)} µs/job` +
            (step.stable ? '' : ` (not sustained: ${step.problems.join('; ')})`),
        );
      }
    }
  }
  const keys: (keyof Figures)[] = ['p50', 'p99', 'ownMicros', 'rabbitmqMicros', 'redisMicros'];
  console.log(`relay against the durable floor, medians of ${pairs} alternated pair(s) of ${stepMs / 1000} s`);
  console.log(['rate', 'measure', 'relay', 'floor', 'relay/floor'].join('\t'));
  for (const rate of rates) {
    for (const k of keys) {
      const r = median(results[rate]!.relay.map((f) => f[k]));
      const f = median(results[rate]!.floor.map((x) => x[k]));
      console.log([rate, k, round(r), round(f), round(r / f)].join('\t'));
    }
  }
  console.log(JSON.stringify({ rates, stepMs, pairs, results }));
  await Promise.all([relayPool.close(), floorPool.close()]);
});
