export const REDACTED = '[redacted]';

/**
 * Header names whose values are always credentials. Operators add their own
 * (RELAY_REDACT_HEADERS) on top of these; they can never remove one.
 */
export const SENSITIVE_HEADER_NAMES = [
  'authorization',
  'cookie',
  'set-cookie',
  'x-api-key',
  'proxy-authorization',
] as const;

/**
 * Decides which headers carry credentials, from one list built once at
 * start-up (the built-in names plus the configured ones), so that the logger,
 * the job store and the worker all agree. Names match in any letter case.
 */
export class HeaderRedactor {
  /** Every redacted name, lower case, built-in first. */
  readonly names: readonly string[];
  private readonly set: ReadonlySet<string>;

  /** @param extra header names added to SENSITIVE_HEADER_NAMES (any case; duplicates are fine). */
  constructor(extra: readonly string[] = []) {
    this.set = new Set([...SENSITIVE_HEADER_NAMES, ...extra.map((n) => n.toLowerCase())]);
    this.names = Object.freeze([...this.set]);
  }

  isSensitive(name: string): boolean {
    return this.set.has(name.toLowerCase());
  }

  /**
   * A copy of `headers` with credential values replaced by REDACTED. The job
   * store and the API only ever see this copy; the clear values travel in the
   * broker message to the worker, which sends them to the target.
   */
  redact(headers: Record<string, string>): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [name, value] of Object.entries(headers)) out[name] = this.isSensitive(name) ? REDACTED : value;
    return out;
  }

  /** The credential-bearing subset of `headers` (empty object when none). */
  secrets(headers: Record<string, string>): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [name, value] of Object.entries(headers)) if (this.isSensitive(name)) out[name] = value;
    return out;
  }
}

/** The built-in list alone: for tools and tests that have no configuration. */
export const defaultHeaderRedactor = new HeaderRedactor();
