import { describe, expect, it } from 'vitest';
import { SENSITIVE_HEADER_NAMES } from '../src/logger.js';
import { REDACTED, redactHeaders } from '../src/redact.js';

describe('redactHeaders', () => {
  it.each(SENSITIVE_HEADER_NAMES)('redacts %s', (name) => {
    expect(redactHeaders({ [name]: 'secret-value' })).toEqual({ [name]: REDACTED });
  });

  it.each(['Authorization', 'AUTHORIZATION', 'Cookie', 'X-Api-Key', 'X-API-KEY', 'Proxy-Authorization', 'Set-Cookie'])(
    'matches %s whatever its case, and keeps the name as given',
    (name) => {
      expect(redactHeaders({ [name]: 'secret-value' })).toEqual({ [name]: REDACTED });
    },
  );

  it('leaves other headers untouched', () => {
    const headers = {
      'Content-Type': 'application/json',
      'X-Trace-Id': 'abc',
      'X-Authorization-Hint': 'not a credential',
      Authorization: 'Bearer t0ken',
    };
    expect(redactHeaders(headers)).toEqual({
      'Content-Type': 'application/json',
      'X-Trace-Id': 'abc',
      'X-Authorization-Hint': 'not a credential',
      Authorization: REDACTED,
    });
  });

  it('returns a copy and does not mutate its input', () => {
    const headers = { Authorization: 'Bearer t0ken', Accept: '*/*' };
    const out = redactHeaders(headers);
    expect(headers).toEqual({ Authorization: 'Bearer t0ken', Accept: '*/*' });
    expect(out).not.toBe(headers);
  });

  it('returns an empty object for no headers', () => {
    expect(redactHeaders({})).toEqual({});
  });
});
