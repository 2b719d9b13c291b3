import { DEFAULT_APPLICATION } from '@relay/common';

/** How an application signs: its valid secrets, newest first, and whether target requests are signed too. */
export interface ApplicationSigning {
  secrets: string[];
  signTargetRequests: boolean;
}

/** Where signing secrets come from (ApplicationStore in production). */
export interface SigningSource {
  signing(applicationId: string): Promise<ApplicationSigning | null>;
}

/** What the delivery code asks: null means "send unsigned". */
export interface SigningLookup {
  get(applicationId: string): Promise<ApplicationSigning | null>;
}

export interface SigningCacheOptions {
  /**
   * How long an application's secrets are reused before Redis is asked again.
   * A rotation (or a change of signTargetRequests) reaches every worker
   * within this time, and a rotated-out secret may sign for this much longer
   * than its grace period.
   * @defaultValue 5000
   */
  ttlMs?: number;
  /** @defaultValue Date.now */
  now?: () => number;
}

/** Entries kept at most; past it expired ones are dropped (one per application, so rarely reached). */
const MAX_ENTRIES = 10_000;

/**
 * A small in-process cache in front of the application store, so a busy
 * worker does not read the application record for every message. Concurrent
 * lookups of one application share one read; a failed read is not cached
 * (the caller's message is deferred and tries again).
 */
export class SigningSecretCache implements SigningLookup {
  private readonly entries = new Map<string, { until: number; value: Promise<ApplicationSigning | null> }>();
  private readonly ttlMs: number;
  private readonly now: () => number;

  constructor(
    private readonly source: SigningSource,
    options: SigningCacheOptions = {},
  ) {
    this.ttlMs = options.ttlMs ?? 5000;
    this.now = options.now ?? Date.now;
  }

  async get(applicationId: string): Promise<ApplicationSigning | null> {
    // Jobs submitted without auth have no application record, hence no secrets.
    if (applicationId === DEFAULT_APPLICATION) return null;
    const now = this.now();
    const cached = this.entries.get(applicationId);
    if (cached && cached.until > now) return cached.value;
    if (this.entries.size >= MAX_ENTRIES) this.sweep(now);
    const value = this.source.signing(applicationId);
    this.entries.set(applicationId, { until: now + this.ttlMs, value });
    value.catch(() => {
      if (this.entries.get(applicationId)?.value === value) this.entries.delete(applicationId);
    });
    return value;
  }

  private sweep(now: number): void {
    for (const [id, entry] of this.entries) if (entry.until <= now) this.entries.delete(id);
  }
}
