/**
 * Decides, per application, whether a job creation may try to reach
 * REDIS_WAIT_REPLICAS replicas now. WAIT blocks its connection until the
 * replicas answer or the timeout passes, so while an application's master has
 * too few replicas (after a failover, before the old master is back as a
 * replica) every creation would hold the intake connection for the whole
 * timeout, one after another, and requests would queue for many seconds
 * before their 503. Instead, after a short wait the application's creations
 * are refused at once for one timeout; then one creation probes, and the
 * others are refused until it settles, or for PROBE_MS at most (a probe
 * whose answer never comes must not shut the gate for good). Pure state, no
 * I/O; the clock is passed in.
 */
export class ReplicaGate {
  /** Until when an application's creations are refused at once (epoch ms). */
  private readonly shutUntil = new Map<string, number>();

  constructor(
    private readonly timeoutMs: number,
    /** Longest a probe keeps the others out; above the wait plus a command timeout. */
    private readonly probeMs: number = 2 * timeoutMs + 5000,
  ) {}

  /** Whether a creation for `application` may go ahead; if it may while the gate is shut, it is the probe. */
  admit(application: string, nowMs: number): boolean {
    const until = this.shutUntil.get(application);
    if (until === undefined) return true;
    if (nowMs < until) return false;
    this.shutUntil.set(application, nowMs + this.probeMs);
    return true;
  }

  /** What the creation's WAIT found: enough replicas (the gate opens) or not (shut for one timeout). */
  settle(application: string, enough: boolean, nowMs: number): void {
    if (enough) this.shutUntil.delete(application);
    else this.shutUntil.set(application, nowMs + this.timeoutMs);
  }
}
