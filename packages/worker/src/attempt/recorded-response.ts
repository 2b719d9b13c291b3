import type { HeaderRedactor, StoredResponse } from '@relay/common';

/**
 * Hop-by-hop headers (RFC 9110 §7.6.1) describe the connection to relay, not
 * the target's answer: not worth a byte of every stored attempt.
 */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'proxy-connection',
]);

function endToEndHeaders(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) if (!HOP_BY_HOP.has(name)) out[name] = value;
  return out;
}

/**
 * A target's answer as it is recorded (Redis, API, callback body): without
 * hop-by-hop headers, and with a `set-cookie` or any other credential header
 * the target sent redacted, like the job's own.
 */
export function recordedResponse(redactor: HeaderRedactor, response: StoredResponse | null): StoredResponse | null {
  return response && { ...response, headers: redactor.redact(endToEndHeaders(response.headers)) };
}
