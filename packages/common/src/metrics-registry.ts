import { collectDefaultMetrics, Registry } from 'prom-client';

/**
 * The Prometheus registry of a process's metrics, made the same way by the
 * backend and the worker. A registry passed in is used as it is: Node's
 * default process metrics are added only to one made here, since registering
 * them twice in one registry throws.
 */
export function metricsRegistry(given?: Registry): Registry {
  if (given) return given;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}
