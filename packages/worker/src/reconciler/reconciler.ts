import { randomUUID } from 'node:crypto';
import type { DeadlineIndex, Logger, OverdueEntry } from '@relay/common';
import { decideRepair, nextLookMs } from './decide-repair.js';
import type { ReconcilerMetrics, RepairLabel } from './reconciler-metrics.js';
import { republishAttempt, republishCallback, type RepairDeps } from './repair-job.js';

/** Overdue jobs read per round trip of a sweep. */
const SWEEP_BATCH = 200;

/** Jobs whose repair count is remembered (for the backoff of repeated repairs); cleared when exceeded. */
const REPAIR_MEMORY = 100_000;

export interface ReconcilerOptions extends RepairDeps {
  index: DeadlineIndex;
  log: Logger;
  metrics: ReconcilerMetrics;
  /** RECONCILE_GRACE_MS: how far past its deadline a job is repaired. */
  graceMs: number;
  /** RECONCILE_INTERVAL_MS: time between sweeps. */
  intervalMs: number;
}

/**
 * Runs in every worker; one at a time is active, the one holding the lease
 * (reconciler-lease.lua), renewed at every sweep and valid for three sweep
 * intervals, so a dead worker's reconciler is replaced within that time. Each
 * sweep reads the overdue head of the deadline index and repairs each job
 * there (decide-repair.ts), counting and logging every repair.
 */
export class Reconciler {
  private readonly token = randomUUID();
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  private readonly repairs = new Map<string, number>();

  constructor(private readonly options: ReconcilerOptions) {}

  start(): void {
    const tick = () => {
      if (this.stopped) return;
      this.running = this.round().finally(() => {
        this.running = null;
        if (!this.stopped) this.timer = setTimeout(tick, this.options.intervalMs);
      });
    };
    this.timer = setTimeout(tick, this.options.intervalMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
    this.options.metrics.active.set(0);
    await this.options.index.releaseLease(this.token).catch(() => undefined);
  }

  /** One sweep if this worker holds the lease; never throws. */
  private async round(): Promise<void> {
    const { index, log, metrics, intervalMs } = this.options;
    try {
      const active = await index.holdLease(this.token, intervalMs * 3);
      metrics.active.set(active ? 1 : 0);
      if (active) await this.sweep();
    } catch (err) {
      log.warn({ err }, 'reconciler: sweep failed; trying again next interval');
    }
  }

  /** Repairs every job overdue now. */
  async sweep(): Promise<number> {
    const { index, graceMs, now } = this.options;
    let repaired = 0;
    const seen = new Set<string>();
    for (;;) {
      const batch = (await index.overdue(now() - graceMs, SWEEP_BATCH)).filter((e) => !seen.has(e.jobId));
      if (batch.length === 0) return repaired;
      for (const entry of batch) {
        seen.add(entry.jobId);
        if (await this.repair(entry)) repaired++;
      }
    }
  }

  private async repair(entry: OverdueEntry): Promise<boolean> {
    const { index, graceMs, now, log, metrics } = this.options;
    const { jobId, job } = entry;
    const repair = decideRepair(entry, now(), graceMs);
    if (repair.kind === 'drop') {
      this.repairs.delete(jobId);
      await index.remove(entry);
      return false;
    }
    if (repair.kind === 'wait') {
      await index.postpone(entry, repair.deadlineMs);
      return false;
    }
    let label: RepairLabel;
    let result: string;
    if (repair.kind === 'attempt') {
      result = await republishAttempt(this.options, jobId, job!, repair.attempt, log);
      label = result === 'credentials_lost' ? 'credentials_lost' : repair.reason;
    } else {
      result = await republishCallback(this.options, jobId, job!.application, repair.delivery);
      label = 'callback';
    }
    if (result === 'gone') {
      await index.remove(entry);
      return false;
    }
    if (this.repairs.size >= REPAIR_MEMORY) this.repairs.clear();
    const count = (this.repairs.get(jobId) ?? 0) + 1;
    this.repairs.set(jobId, count);
    await index.postpone(entry, nextLookMs(now(), graceMs, count));
    metrics.repairs.inc({ kind: label });
    log.warn(
      { jobId, repair: label, status: job!.status, work: repair, overdueMs: now() - entry.deadlineMs },
      'reconciler: job was overdue; its work published again',
    );
    return true;
  }
}
