import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { HttpMethod, JobSpec } from '@relay/common';
import { buildTargetRequest } from '../../src/attempt/target-request.js';

function spec(overrides: Partial<JobSpec> = {}): JobSpec {
  return {
    targetUrl: 'http://127.0.0.1:1/hook',
    method: 'GET',
    headers: {},
    payload: null,
    maxRetries: 3,
    retryDelay: 1000,
    timeout: 10_000,
    priority: 'normal',
    ...overrides,
  };
}

const payload = { order: 42, items: ['a', 'b'] };

/** The worker package's version, read here independently of the code under test. */
const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

describe('buildTargetRequest', () => {
  describe('body', () => {
    it.each<HttpMethod>(['POST', 'PUT', 'PATCH', 'DELETE'])('%s sends the payload as JSON', (method) => {
      const { headers, body } = buildTargetRequest(spec({ method, payload }));
      expect(body).toBe(JSON.stringify(payload));
      expect(headers['content-type']).toBe('application/json');
    });

    it.each<HttpMethod>(['GET', 'HEAD'])('%s never has a body, even with a payload', (method) => {
      const { headers, body } = buildTargetRequest(spec({ method, payload }));
      expect(body).toBeNull();
      expect(headers).not.toHaveProperty('content-type');
    });

    it.each<HttpMethod>(['POST', 'PUT', 'PATCH', 'DELETE'])('%s with a null payload has no body', (method) => {
      const { headers, body } = buildTargetRequest(spec({ method, payload: null }));
      expect(body).toBeNull();
      expect(headers).not.toHaveProperty('content-type');
    });

    it.each<[string, unknown, string]>([
      ['false', false, 'false'],
      ['0', 0, '0'],
      ['an empty string', '', '""'],
      ['an empty array', [], '[]'],
      ['a string', 'hi', '"hi"'],
    ])('sends a falsy-but-present payload (%s)', (_label, value, expected) => {
      expect(buildTargetRequest(spec({ method: 'POST', payload: value })).body).toBe(expected);
    });
  });

  describe('content-type', () => {
    it.each(['content-type', 'Content-Type', 'CONTENT-TYPE'])("keeps the job's own %s", (name) => {
      const { headers } = buildTargetRequest(
        spec({ method: 'POST', payload, headers: { [name]: 'application/vnd.acme+json' } }),
      );
      const typeHeaders = Object.entries(headers).filter(([h]) => h.toLowerCase() === 'content-type');
      expect(typeHeaders).toEqual([[name, 'application/vnd.acme+json']]);
    });
  });

  describe('user-agent', () => {
    it("defaults to relay/<the worker package's version>", () => {
      expect(version).toMatch(/^\d+\.\d+\.\d+/);
      expect(buildTargetRequest(spec()).headers['user-agent']).toBe(`relay/${version}`);
    });

    it.each(['user-agent', 'User-Agent', 'USER-AGENT'])("is replaced by the job's %s, never sent twice", (name) => {
      const { headers } = buildTargetRequest(spec({ headers: { [name]: 'acme-bot/2' } }));
      const uaHeaders = Object.entries(headers).filter(([h]) => h.toLowerCase() === 'user-agent');
      expect(uaHeaders).toEqual([[name, 'acme-bot/2']]);
    });
  });

  it("passes the job's other headers through unchanged", () => {
    const { headers } = buildTargetRequest(spec({ headers: { Authorization: 'Bearer t', 'X-Trace': 'abc' } }));
    expect(headers).toEqual({ 'user-agent': `relay/${version}`, Authorization: 'Bearer t', 'X-Trace': 'abc' });
  });

  it("does not mutate the spec's headers", () => {
    const s = spec({ method: 'POST', payload, headers: { 'X-A': '1' } });
    buildTargetRequest(s);
    expect(s.headers).toEqual({ 'X-A': '1' });
  });
});
