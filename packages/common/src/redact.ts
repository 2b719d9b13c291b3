import { isSensitiveHeader } from './secrets.js';

export const REDACTED = '[redacted]';

/**
 * A copy of `headers` with credential values replaced. The job store and the
 * API only ever see this copy; the clear values travel in the broker message
 * to the worker, which sends them to the target.
 */
export function redactHeaders(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    out[name] = isSensitiveHeader(name) ? REDACTED : value;
  }
  return out;
}
