import { describe, expect, it } from 'vitest';
import type { CallbackState } from '../../src/job-schema.js';
import { decodeCallbackState, encodeCallbackState, pendingCallback } from '../../src/store/callback-state.js';

const delivered: CallbackState = {
  status: 'delivered',
  statusCode: 204,
  attempts: 1,
  error: null,
  lastAttemptAt: '2026-11-29T22:34:28.938Z',
  nextAttemptAt: null,
};

describe('stored callback state', () => {
  it('starts pending, with the time it was queued when given', () => {
    expect(pendingCallback()).toEqual({
      status: 'pending',
      statusCode: null,
      attempts: 0,
      error: null,
      lastAttemptAt: null,
      nextAttemptAt: null,
    });
    expect(pendingCallback('2026-11-29T22:34:28.938Z').nextAttemptAt).toBe('2026-11-29T22:34:28.938Z');
  });
});

describe('stored callback state encoding', () => {
  it('fits a delivered callback in a listpack value (64 bytes) and reads it back unchanged', () => {
    const stored = encodeCallbackState(delivered);
    expect(stored).toBe('["delivered",204,1,1795991668938,null]');
    expect(Buffer.byteLength(stored)).toBeLessThanOrEqual(64);
    expect(decodeCallbackState(stored)).toEqual(delivered);
  });

  it('keeps the error, and times that epoch ms cannot represent exactly', () => {
    const state: CallbackState = {
      status: 'retrying',
      statusCode: 503,
      attempts: 2,
      error: { code: 'RELAY_ERR_HTTP_STATUS', message: 'callback answered 503' },
      lastAttemptAt: '2026-11-29T22:34:28.938123Z',
      nextAttemptAt: '2026-11-29T22:34:29.000Z',
    };
    const stored = encodeCallbackState(state);
    expect(JSON.parse(stored)).toEqual(['retrying', 503, 2, '2026-11-29T22:34:28.938123Z', 1795991669000, state.error]);
    expect(decodeCallbackState(stored)).toEqual(state);
  });

  it('reads nothing as null', () => {
    expect(decodeCallbackState('')).toBeNull();
    expect(decodeCallbackState(undefined)).toBeNull();
  });
});
