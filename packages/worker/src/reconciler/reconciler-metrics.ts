import { Counter, Gauge, type Registry } from 'prom-client';
import type { RepairKind } from './decide-repair.js';

export type RepairLabel = RepairKind | 'credentials_lost';

const REPAIR_LABELS: readonly RepairLabel[] = ['queued', 'retrying', 'in_progress', 'callback', 'credentials_lost'];

export interface ReconcilerMetrics {
  repairs: Counter<'kind'>;
  active: Gauge;
}

/** The reconciler's metrics, in the worker's registry. */
export function createReconcilerMetrics(registry: Registry): ReconcilerMetrics {
  const registers = [registry];
  const metrics: ReconcilerMetrics = {
    repairs: new Counter({
      name: 'relay_reconciler_repairs_total',
      help: 'Jobs the reconciler found overdue and published again, by what was stuck',
      labelNames: ['kind'] as const,
      registers,
    }),
    active: new Gauge({
      name: 'relay_reconciler_active',
      help: "1 when this worker's reconciler holds the lease (one worker of a deployment does)",
      registers,
    }),
  };
  for (const kind of REPAIR_LABELS) metrics.repairs.inc({ kind }, 0);
  return metrics;
}
