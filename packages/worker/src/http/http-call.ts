import { EventEmitter } from 'node:events';
import { request, type Dispatcher } from 'undici';
import { DEFAULT_JSON_MAX_DEPTH, findJsonDepthExcess, type StoredResponse } from '@relay/common';
import { classifyRequestError } from './error-classification.js';
import type { AttemptResult } from '../retry-policy.js';

export interface HttpCall {
  url: string;
  method: Dispatcher.HttpMethod;
  headers: Record<string, string>;
  body: string | null;
  /** Deadline for the whole exchange: connect, headers and body. */
  timeoutMs: number;
  /** Bytes of body kept; reading stops past this. */
  bodyCap: number;
  /**
   * A JSON body nested deeper than this is kept as its text (JSON_MAX_DEPTH).
   * @defaultValue DEFAULT_JSON_MAX_DEPTH
   */
  jsonMaxDepth?: number;
}

export interface HttpCallResult extends AttemptResult {
  response: StoredResponse | null;
  startedAt: string;
  durationMs: number;
}

/**
 * The whole-exchange deadline, as a `signal` undici accepts (an EventEmitter
 * with `aborted` and `reason`): one timer, cleared when the call ends.
 * AbortSignal.timeout cannot be cleared, so a finished call would keep its
 * timer pending for the full timeout, and a busy worker would carry one such
 * timer per call of the last timeout period. The reason is what
 * AbortSignal.timeout gives, so a timeout is classified the same.
 */
class Deadline extends EventEmitter {
  aborted = false;
  reason: DOMException | null = null;
  private readonly timer: NodeJS.Timeout;

  constructor(ms: number) {
    super();
    this.timer = setTimeout(() => {
      this.aborted = true;
      this.reason = new DOMException('The operation was aborted due to timeout', 'TimeoutError');
      this.emit('abort');
    }, ms);
  }

  clear(): void {
    clearTimeout(this.timer);
  }
}

/**
 * Sends one request with undici and reads at most `bodyCap` bytes of the
 * answer. Never throws: failures come back as `error`. Redirects are not
 * followed (undici's request does not by default).
 */
export async function sendHttp(dispatcher: Dispatcher, call: HttpCall): Promise<HttpCallResult> {
  const startedAt = new Date();
  const t0 = performance.now();
  const signal = new Deadline(call.timeoutMs);
  try {
    const res = await request(call.url, {
      dispatcher,
      method: call.method,
      headers: call.headers,
      body: call.body,
      signal,
      headersTimeout: call.timeoutMs,
      bodyTimeout: call.timeoutMs,
    });
    const headers = flattenHeaders(res.headers);
    const body = await readCapped(res.body, call.bodyCap);
    return {
      statusCode: res.statusCode,
      headers,
      error: null,
      response: {
        statusCode: res.statusCode,
        headers,
        body: decodeBody(body.bytes, headers['content-type'], body.truncated, call.jsonMaxDepth),
        truncated: body.truncated,
        bodyBytes: body.bytes.length,
      },
      startedAt: startedAt.toISOString(),
      durationMs: round(performance.now() - t0),
    };
  } catch (err) {
    return {
      statusCode: null,
      headers: {},
      error: classifyRequestError(err),
      response: null,
      startedAt: startedAt.toISOString(),
      durationMs: round(performance.now() - t0),
    };
  } finally {
    signal.clear();
  }
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}

function flattenHeaders(raw: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw)) {
    if (value === undefined) continue;
    out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

/**
 * Reads up to `cap` bytes, then stops and destroys the stream, so an endless
 * or huge body costs at most `cap` bytes of memory (and closes that socket).
 */
async function readCapped(
  body: Dispatcher.ResponseData['body'],
  cap: number,
): Promise<{ bytes: Buffer; truncated: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buf = chunk as Buffer;
    if (size + buf.length > cap) {
      chunks.push(buf.subarray(0, cap - size));
      size = cap;
      body.destroy();
      return { bytes: Buffer.concat(chunks, size), truncated: true };
    }
    chunks.push(buf);
    size += buf.length;
  }
  return { bytes: Buffer.concat(chunks, size), truncated: false };
}

/**
 * JSON-parses a complete JSON body; otherwise keeps it as UTF-8 text (null
 * when empty). A JSON body that does not parse, or nests deeper than
 * `maxDepth`, is kept as its text too: a value nested some thousands deep
 * parses, but relay could not serialise it again to record the attempt.
 * The response's content-type says which it was meant to be.
 */
export function decodeBody(
  bytes: Buffer,
  contentType: string | undefined,
  truncated: boolean,
  maxDepth: number = DEFAULT_JSON_MAX_DEPTH,
): unknown {
  if (bytes.length === 0) return null;
  const text = bytes.toString('utf8');
  if (!truncated && contentType && /[/+]json\b/i.test(contentType)) {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return text;
    }
    return findJsonDepthExcess(value, maxDepth) === null ? value : text;
  }
  return text;
}
