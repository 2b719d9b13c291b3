/**
 * What the console's live stream costs the backend: backend CPU at a fixed
 * rate (1,000 jobs/s) with no stream client and with one, in alternating
 * phases of the same run (off, on, off, on, …), so that drift in the
 * machine's background load falls on both sides alike. The figure is the
 * extra backend CPU with a client, as a share of one core (the issue's
 * "under 2% CPU") and as a ratio to the backend's CPU without a client.
 */
import { openSse, type SseReader } from '../e2e/support/sse.js';
import { runStep, type Context, type Scenario } from './measures.js';
import { cpuDelta, readCpu, type WatchedProcess } from './process-cost.js';
import { median } from './stats.js';

/** The offered rate of every phase: the issue's figure. */
export const CONSOLE_STREAM_RATE = 1000;

export interface ConsolePhase {
  stream: boolean;
  /** Backend CPU over the phase, in cores (CPU seconds per wall second). */
  backendCores: number;
  /** Snapshots the client received during the phase (0 without a client). */
  snapshots: number;
  /** The rate was sustained (measures.ts's judgement); a phase that was not still counts, but is flagged. */
  stable: boolean;
}

export interface ConsoleStreamResult {
  rate: number;
  phaseSeconds: number;
  phases: ConsolePhase[];
  /** Median backend cores without and with a client. */
  withoutCores: number;
  withCores: number;
  /** withCores - withoutCores, as a percentage of one core. */
  extraCorePercent: number;
  /** withCores / withoutCores. */
  ratio: number;
}

export async function consoleStreamCost(
  ctx: Context,
  scenario: Scenario,
  backend: WatchedProcess,
  streamUrl: string,
  options: { phaseMs: number; pairs: number; rate?: number },
): Promise<ConsoleStreamResult> {
  const rate = options.rate ?? CONSOLE_STREAM_RATE;
  const phases: ConsolePhase[] = [];
  for (let pair = 1; pair <= options.pairs; pair++) {
    for (const stream of [false, true]) {
      let client: SseReader | null = null;
      let snapshots = 0;
      if (stream) {
        client = await openSse(streamUrl);
        await client.next('history');
      }
      // Counts snapshots while the phase runs: the client really reads the stream.
      const reading = (async () => {
        while (client) {
          try {
            await client.next('snapshot', 5000);
            snapshots++;
          } catch {
            return;
          }
        }
      })();
      const cpu0 = readCpu([backend]);
      const t0 = performance.now();
      const step = await runStep(ctx, scenario, rate, options.phaseMs);
      const cores = cpuDelta(cpu0, readCpu([backend]))[backend.name]! / ((performance.now() - t0) / 1000);
      const open = client;
      client = null;
      open?.close();
      await reading;
      await scenario.reset();
      phases.push({ stream, backendCores: Math.round(cores * 10_000) / 10_000, snapshots, stable: step.stable });
      ctx.log(
        `console stream pair ${pair}/${options.pairs}, ${stream ? 'one client' : 'no client'}: backend ` +
          `${(cores * 100).toFixed(1)}% of a core at ${rate}/s` +
          `${stream ? `, ${snapshots} snapshots` : ''}${step.stable ? '' : ` (NOT sustained: ${step.problems.join('; ')})`}`,
      );
    }
  }
  const withoutCores = median(phases.filter((p) => !p.stream).map((p) => p.backendCores));
  const withCores = median(phases.filter((p) => p.stream).map((p) => p.backendCores));
  return {
    rate,
    phaseSeconds: options.phaseMs / 1000,
    phases,
    withoutCores,
    withCores,
    extraCorePercent: Math.round((withCores - withoutCores) * 10_000) / 100,
    ratio: Math.round((withCores / withoutCores) * 1000) / 1000,
  };
}

export function describeConsoleStream(r: ConsoleStreamResult): string {
  return (
    `console stream at ${r.rate} jobs/s (${r.phases.length} alternated phases of ${r.phaseSeconds} s): backend ` +
    `${(r.withoutCores * 100).toFixed(1)}% of a core without a client, ${(r.withCores * 100).toFixed(1)}% with one: ` +
    `${r.extraCorePercent >= 0 ? '+' : ''}${r.extraCorePercent.toFixed(2)} points, ratio ${r.ratio.toFixed(3)} ` +
    `(goal: under +2 points; noisy on a shared machine)`
  );
}
