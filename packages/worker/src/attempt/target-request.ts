import {
  openMessageHeaders,
  randomHex,
  targetSigningSecret,
  targetWebhookId,
  type AttemptMessage,
  type JobSpec,
} from '@relay/common';
import { TARGET_USER_AGENT } from '../package-version.js';
import type { WorkerDeps } from '../deps.js';
import { signWebhook, withWebhookHeaders } from '../signing/webhook-signature.js';

/** Methods that get `payload` as a JSON body (when the payload is not null). */
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Headers relay adds to every target request so that a target can drop
 * duplicates: the job id, and the attempt number (a redelivered copy of one
 * attempt carries the same number). Documented in docs/api.md.
 */
export const JOB_ID_HEADER = 'relay-job-id';
export const ATTEMPT_HEADER = 'relay-attempt';

/** The job's request as sent to the target: its headers with relay's defaults, and its JSON body. */
export function buildTargetRequest(spec: JobSpec): { headers: Record<string, string>; body: string | null } {
  // Header names are case-insensitive: a job's `User-Agent` must replace the
  // default, not be sent alongside it.
  const has = (name: string) => Object.keys(spec.headers).some((h) => h.toLowerCase() === name);
  const headers: Record<string, string> = has('user-agent')
    ? { ...spec.headers }
    : { 'user-agent': TARGET_USER_AGENT, ...spec.headers };
  let body: string | null = null;
  if (BODY_METHODS.has(spec.method) && spec.payload !== null && spec.payload !== undefined) {
    body = JSON.stringify(spec.payload);
    if (!has('content-type')) headers['content-type'] = 'application/json';
  }
  return { headers, body };
}

/** `traceparent` for one attempt: the job's trace, a fresh span (W3C Trace Context). */
export function traceparent(traceId: string): string {
  return `00-${traceId}-${randomHex(8)}-01`;
}

/**
 * The complete target request of one attempt: built from the spec, with the
 * attempt's `traceparent`, and signed (Standard Webhooks) when the
 * application signs target requests.
 */
export async function targetRequest(
  deps: Pick<WorkerDeps, 'signing' | 'now' | 'store'>,
  message: AttemptMessage,
): Promise<{ headers: Record<string, string>; body: string | null }> {
  // Sealed credential headers are opened here only, just before the call.
  const request = buildTargetRequest(openMessageHeaders(message, deps.store.secretKey));
  request.headers[JOB_ID_HEADER] = message.jobId;
  request.headers[ATTEMPT_HEADER] = String(message.attempt);
  if (message.traceId) request.headers.traceparent = traceparent(message.traceId);
  const signing = await deps.signing.get(message.application);
  if (!signing?.signTargetRequests || signing.secrets.length === 0) return request;
  // A request without a body (a GET) is signed over the empty string, with
  // the target keys (signing-keys.ts), never with the callback keys.
  const signed = signWebhook({
    id: targetWebhookId(message.jobId),
    timestamp: Math.floor(deps.now() / 1000),
    body: request.body ?? '',
    secrets: signing.secrets.map(targetSigningSecret),
  });
  return { headers: withWebhookHeaders(request.headers, signed), body: request.body };
}
