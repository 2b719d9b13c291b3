/**
 * Decides, per application, whether a job creation may try to reach
 * REDIS_WAIT_REPLICAS replicas now. WAIT blocks its connection until the
 * replicas answer or the timeout passes, so while an application's master has
 * too few replicas (after a failover, before the old master is back as a
 * replica) every creation would hold the intake connection for the whole
 * timeout, one after another, and requests would queue for many seconds
 * before their 503. Instead, after a short wait the application's creations
 * are refused at once for one timeout; then one creation probes, and the
 * others are refused until it succeeds. Pure state, no I/O; the clock is
 * passed in.
 */
export class ReplicaGate {
  private readonly state = new Map<string, { shortUntil: number; probing: boolean }>();

  constructor(private readonly timeoutMs: number) {}

  /** Whether a creation for `application` may go ahead; if it may while the gate is shut, it is the probe. */
  admit(application: string, nowMs: number): boolean {
    const s = this.state.get(application);
    if (!s) return true;
    if (s.probing || nowMs < s.shortUntil) return false;
    s.probing = true;
    return true;
  }

  /** What the creation's WAIT found: enough replicas (the gate opens) or not (shut for one timeout). */
  settle(application: string, enough: boolean, nowMs: number): void {
    if (enough) this.state.delete(application);
    else this.state.set(application, { shortUntil: nowMs + this.timeoutMs, probing: false });
  }
}
