import { describe, expect, it } from 'vitest';
import type { JobSpec } from '../../src/job-schema.js';
import {
  attemptMessage,
  callbackMessage,
  decodeMessage,
  encodeMessage,
  MESSAGE_VERSION,
  type AttemptMessage,
  type CallbackMessage,
} from '../../src/messages/index.js';

const spec: JobSpec = {
  targetUrl: 'https://api.example/hook?x=1',
  method: 'POST',
  headers: { Authorization: 'Bearer t0ken', 'X-Trace': 'é' },
  payload: { nested: { list: [1, 'two', null, true] } },
  callbackUrl: 'https://cb.example/done',
  maxRetries: 3,
  retryDelay: 1000,
  timeout: 10_000,
  priority: 'normal',
};

const attempt: AttemptMessage = {
  v: 1,
  kind: 'attempt',
  jobId: '6f1c9a52-2b0e-4c1f-9a57-8f0b8c1d2e3f',
  attempt: 2,
  dueAt: 1_735_732_800_000,
  createdAt: '2025-01-01T12:00:00.000Z',
  spec,
  seriesBase: 0,
  requestId: 'req-1',
  traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
  application: 'app_test',
};

const callback: CallbackMessage = {
  v: 1,
  kind: 'callback',
  jobId: attempt.jobId,
  delivery: 1,
  dueAt: 0,
  callbackUrl: 'https://cb.example/done',
  body: {
    jobId: attempt.jobId,
    status: 'failed',
    success: false,
    attempts: 4,
    statusCode: null,
    response: null,
    error: { code: 'RELAY_ERR_TIMEOUT', message: 'The attempt did not finish within its timeout' },
    completedAt: '2025-01-01T12:05:00.000Z',
    targetUrl: spec.targetUrl,
    method: 'POST',
  },
  application: 'app_test',
  webhookId: `msg_${attempt.jobId}_a4`,
};

const raw = (value: unknown) => Buffer.from(JSON.stringify(value));

describe('encodeMessage / decodeMessage', () => {
  it.each([
    ['attempt', attempt],
    ['callback', callback],
  ])('round-trips a %s message', (_kind, message) => {
    const encoded = encodeMessage(message);
    expect(Buffer.isBuffer(encoded)).toBe(true);
    expect(decodeMessage(encoded)).toEqual(message);
  });

  it('stamps every message with MESSAGE_VERSION, and the factories build what the codec reads', () => {
    const { v: _v, kind: _k, ...fields } = attempt;
    const built = attemptMessage(fields);
    expect(built).toEqual(attempt);
    expect(decodeMessage(encodeMessage(built))).toEqual(attempt);
    const cb = callbackMessage(callback.jobId, callback.callbackUrl, callback.body, 1, callback.application);
    expect(cb).toEqual(callback);
    expect([built.v, cb.v]).toEqual([MESSAGE_VERSION, MESSAGE_VERSION]);
  });

  it.each<[string, Buffer]>([
    ['bad JSON', Buffer.from('{"v":1,')],
    ['an empty buffer', Buffer.alloc(0)],
    ['JSON null', raw(null)],
    ['a JSON number', raw(1)],
    ['a JSON string', raw('attempt')],
    ['a JSON array', raw([attempt])],
    ['another version', raw({ ...attempt, v: MESSAGE_VERSION + 1 })],
    ['version "1" as a string', raw({ ...attempt, v: '1' })],
    ['no version', raw({ ...attempt, v: undefined })],
    ['an unknown kind', raw({ ...attempt, kind: 'cancel' })],
    ['no kind', raw({ ...attempt, kind: undefined })],
    ['no jobId', raw({ ...attempt, jobId: undefined })],
    ['a numeric jobId', raw({ ...attempt, jobId: 7 })],
    ['no dueAt', raw({ ...attempt, dueAt: undefined })],
    ['a string dueAt', raw({ ...attempt, dueAt: '0' })],
    ['an attempt without attempt number', raw({ ...attempt, attempt: undefined })],
    ['an attempt with a null spec', raw({ ...attempt, spec: null })],
    ['an attempt without spec', raw({ ...attempt, spec: undefined })],
    ['a callback without delivery', raw({ ...callback, delivery: undefined })],
    ['a callback without callbackUrl', raw({ ...callback, callbackUrl: undefined })],
    ['a callback shaped as an attempt', raw({ ...attempt, kind: 'callback' })],
    // Forged or corrupt values that would reach the Lua scripts.
    ['a forged attempt number in the millions', raw({ ...attempt, attempt: 10_000_000 })],
    ['an attempt past the last of its series', raw({ ...attempt, attempt: 5 })],
    ['attempt 0', raw({ ...attempt, attempt: 0 })],
    ['a fractional attempt', raw({ ...attempt, attempt: 1.5 })],
    ['a seriesBase past the ceiling', raw({ ...attempt, seriesBase: 10_000, attempt: 10_001 })],
    ['a negative dueAt', raw({ ...attempt, dueAt: -1 })],
    ['a dueAt that was Infinity (null in JSON)', raw({ ...attempt, dueAt: Infinity })],
    ['a jobId that is not a UUID', raw({ ...attempt, jobId: 'x'.repeat(10_000) })],
    ['a traceId that is not 32 hex digits', raw({ ...attempt, traceId: 'zz' })],
    ['an unknown field', raw({ ...attempt, extra: 1 })],
    ['a spec the API would refuse', raw({ ...attempt, spec: { ...spec, maxRetries: 1000 } })],
    ['a spec with a non-http target', raw({ ...attempt, spec: { ...spec, targetUrl: 'file:///etc/passwd' } })],
    ['a failure count past its bound', raw({ ...attempt, failures: { step: 2, count: 1000 } })],
    ['a callback delivery past CALLBACK_MAX_ATTEMPTS allows', raw({ ...callback, delivery: 31 })],
    ['a callback with a malformed webhook id', raw({ ...callback, webhookId: 'evil' })],
    [
      'a payload nested deeper than any JSON_MAX_DEPTH (it could not be encoded again)',
      Buffer.from(
        JSON.stringify({ ...attempt, spec: { ...spec, payload: '#' } }).replace(
          '"#"',
          '['.repeat(10_000) + ']'.repeat(10_000),
        ),
      ),
    ],
  ])('returns null for %s', (_label, content) => {
    expect(decodeMessage(content)).toBeNull();
  });

  it('reads the last attempt of a series, a replayed series, and a failure count', () => {
    const last = { ...attempt, attempt: 4 };
    expect(decodeMessage(raw(last))).toEqual(last);
    const replayed = { ...attempt, seriesBase: 4, attempt: 8, failures: { step: 8, count: 2 } };
    expect(decodeMessage(raw(replayed))).toEqual(replayed);
    expect(decodeMessage(raw({ ...replayed, attempt: 9 }))).toBeNull();
    expect(decodeMessage(raw({ ...callback, delivery: 30 }))).toEqual({ ...callback, delivery: 30 });
  });

  it('applies the API\'s header value rule: tab and Latin-1 pass, control characters and U+0100 up do not', () => {
    const withHeader = (value: string) =>
      Buffer.from(JSON.stringify({ ...attempt, spec: { ...spec, headers: { 'X-A': value } } }));
    expect(decodeMessage(withHeader('caf\u00e9\tok \u00ff'))).not.toBeNull();
    for (const bad of ['a\u0001', 'a\u007f', '5 \u20ac', '\u{1f600}', 'a\r\nb']) {
      expect(decodeMessage(withHeader(bad))).toBeNull();
    }
  });
});
