import { describe, expect, it } from 'vitest';
import { ErrorCodes, RelayError, type ErrorCodeName } from '../src/errors.js';

const entries = Object.entries(ErrorCodes) as [ErrorCodeName, (typeof ErrorCodes)[ErrorCodeName]][];

describe('ErrorCodes', () => {
  it('has a unique code for every entry', () => {
    const codes = entries.map(([, def]) => def.code);
    expect(new Set(codes).size).toBe(codes.length);
  });

  it.each(entries)('%s has a RELAY_ERR_ code matching its name, an HTTP error status and a message', (name, def) => {
    expect(def.code).toMatch(/^RELAY_ERR_[A-Z_]+$/);
    expect(def.code).toBe(`RELAY_ERR_${name}`);
    expect(def.statusCode).toBeGreaterThanOrEqual(400);
    expect(def.statusCode).toBeLessThan(600);
    expect(def.message.length).toBeGreaterThan(0);
  });
});

describe('RelayError', () => {
  it('takes code, status and message from its definition', () => {
    const err = new RelayError('JOB_NOT_FOUND');
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('RelayError');
    expect(err.code).toBe('RELAY_ERR_JOB_NOT_FOUND');
    expect(err.statusCode).toBe(404);
    expect(err.message).toBe(ErrorCodes.JOB_NOT_FOUND.message);
    expect(err.details).toEqual([]);
    expect(err.headers).toEqual({});
    expect(err.cause).toBeUndefined();
  });

  it('carries a custom message, details, headers and cause', () => {
    const cause = new Error('redis down');
    const details = [{ path: '/body/targetUrl', message: 'is required' }];
    const err = new RelayError('UNAVAILABLE', {
      message: 'Redis is unavailable',
      details,
      headers: { 'retry-after': '5' },
      cause,
    });
    expect(err.code).toBe('RELAY_ERR_UNAVAILABLE');
    expect(err.statusCode).toBe(503);
    expect(err.message).toBe('Redis is unavailable');
    expect(err.details).toEqual(details);
    expect(err.headers).toEqual({ 'retry-after': '5' });
    expect(err.cause).toBe(cause);
  });

  it.each(entries.map(([name]) => name))('can be built for %s', (name) => {
    const err = new RelayError(name);
    expect(err.code).toBe(ErrorCodes[name].code);
    expect(err.statusCode).toBe(ErrorCodes[name].statusCode);
  });
});
