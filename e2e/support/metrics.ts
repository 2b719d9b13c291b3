import type { RelayProcess } from './processes.js';

/** The sum of a metric's samples on a relay process's /metrics (one series or several labelled ones). */
export async function metricSum(process: RelayProcess, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${process.metricsPort}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`))
    .reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
}
