import { describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { createWorkerMetrics } from '../../src/metrics/definitions.js';

describe('relay_fairness_deferrals_total', () => {
  it('starts at 0 for both reasons and counts each deferral under its reason', async () => {
    const metrics = createWorkerMetrics({ registry: new Registry() });
    let lines = (await metrics.registry.metrics()).split('\n');
    expect(lines).toContain('relay_fairness_deferrals_total{reason="host"} 0');
    expect(lines).toContain('relay_fairness_deferrals_total{reason="application"} 0');
    metrics.fairnessDeferrals.inc({ reason: 'host' });
    metrics.fairnessDeferrals.inc({ reason: 'host' });
    metrics.fairnessDeferrals.inc({ reason: 'application' });
    lines = (await metrics.registry.metrics()).split('\n');
    expect(lines).toContain('relay_fairness_deferrals_total{reason="host"} 2');
    expect(lines).toContain('relay_fairness_deferrals_total{reason="application"} 1');
  });
});
