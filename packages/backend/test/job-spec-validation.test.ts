import { describe, expect, it } from 'vitest';
import type { ErrorObject } from 'ajv';
import { JobSpecSchema } from '@relay/common';
import { formatValidationErrors, HEADER_VALUE_MESSAGE, validatorCompiler } from '../src/validation.js';

/**
 * The job spec schema as the backend applies it to POST /api/jobs bodies:
 * strict types (no coercion), defaults filled in, every problem reported.
 */

type Validate = ((data: unknown) => boolean) & { errors?: ErrorObject[] | null };

const validate = validatorCompiler({
  schema: JobSpecSchema,
  httpPart: 'body',
  method: 'POST',
  url: '/api/jobs',
} as any) as unknown as Validate;

const TARGET = 'https://api.example/hook';

/** Validates a copy (Ajv fills defaults in place) and returns it with the formatted problems. */
function check(body: Record<string, unknown>) {
  const data = structuredClone(body);
  const valid = validate(data);
  return { valid, data, details: valid ? [] : formatValidationErrors(validate.errors ?? [], 'body') };
}

describe('JobSpecSchema with the backend validator', () => {
  it('fills every default into a minimal spec', () => {
    const { valid, data } = check({ targetUrl: TARGET });
    expect(valid).toBe(true);
    expect(data).toEqual({
      targetUrl: TARGET,
      method: 'GET',
      headers: {},
      payload: null,
      maxRetries: 3,
      retryDelay: 1000,
      timeout: 10_000,
      priority: 'normal',
    });
  });

  it('accepts a full spec unchanged', () => {
    const body = {
      targetUrl: 'HTTP://127.0.0.1:8080/path?q=1#frag',
      method: 'DELETE',
      headers: { Authorization: 'Bearer t', 'X-Empty': '', "x-tok!#$%&'*+.^_`|~": 'v' },
      payload: [1, { a: null }],
      callbackUrl: 'https://cb.example/done',
      maxRetries: 0,
      retryDelay: 100,
      timeout: 60_000,
      priority: 'low',
      metadata: { customer: 'acme', 'order.id': '42' },
    };
    const { valid, data, details } = check(body);
    expect(details).toEqual([]);
    expect(valid).toBe(true);
    expect(data).toEqual(body);
  });

  it.each([
    ['maxRetries', 10],
    ['retryDelay', 30_000],
    ['timeout', 100],
  ])('accepts the bound %s = %i', (field, value) => {
    expect(check({ targetUrl: TARGET, [field]: value }).valid).toBe(true);
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['no targetUrl', {}, '/body/targetUrl'],
    ['a non-http scheme', { targetUrl: 'ftp://files.example/x' }, '/body/targetUrl'],
    ['a javascript: URL', { targetUrl: 'javascript:alert(1)' }, '/body/targetUrl'],
    ['a relative URL', { targetUrl: '/api/hook' }, '/body/targetUrl'],
    ['http:// with no host', { targetUrl: 'http://' }, '/body/targetUrl'],
    ['http:/// with an empty host', { targetUrl: 'http:///path' }, '/body/targetUrl'],
    ['a URL with a space in the host', { targetUrl: 'http://bad host/' }, '/body/targetUrl'],
    ['a non-string targetUrl', { targetUrl: 42 }, '/body/targetUrl'],
    ['method FOO', { targetUrl: TARGET, method: 'FOO' }, '/body/method'],
    ['a lower-case method', { targetUrl: TARGET, method: 'get' }, '/body/method'],
    ['maxRetries 11', { targetUrl: TARGET, maxRetries: 11 }, '/body/maxRetries'],
    ['maxRetries -1', { targetUrl: TARGET, maxRetries: -1 }, '/body/maxRetries'],
    ['maxRetries 1.5', { targetUrl: TARGET, maxRetries: 1.5 }, '/body/maxRetries'],
    ['maxRetries "3" (no coercion for bodies)', { targetUrl: TARGET, maxRetries: '3' }, '/body/maxRetries'],
    ['retryDelay 99', { targetUrl: TARGET, retryDelay: 99 }, '/body/retryDelay'],
    ['retryDelay 30001', { targetUrl: TARGET, retryDelay: 30_001 }, '/body/retryDelay'],
    ['timeout 99', { targetUrl: TARGET, timeout: 99 }, '/body/timeout'],
    ['timeout 60001', { targetUrl: TARGET, timeout: 60_001 }, '/body/timeout'],
    ['timeout null', { targetUrl: TARGET, timeout: null }, '/body/timeout'],
    ['an unknown field', { targetUrl: TARGET, bogus: true }, '/body/bogus'],
    ['headers as an array', { targetUrl: TARGET, headers: ['X-A: 1'] }, '/body/headers'],
    ['a header name with a space', { targetUrl: TARGET, headers: { 'X Bad': '1' } }, '/body/headers/X Bad'],
    ['a header name with a colon', { targetUrl: TARGET, headers: { 'X-A:': '1' } }, '/body/headers/X-A:'],
    ['reserved header Host', { targetUrl: TARGET, headers: { Host: 'evil.example' } }, '/body/headers/Host'],
    ['reserved header host', { targetUrl: TARGET, headers: { host: 'evil.example' } }, '/body/headers/host'],
    [
      'reserved header content-length',
      { targetUrl: TARGET, headers: { 'content-length': '5' } },
      '/body/headers/content-length',
    ],
    [
      'reserved header Content-Length',
      { targetUrl: TARGET, headers: { 'Content-Length': '5' } },
      '/body/headers/Content-Length',
    ],
    [
      'reserved header Transfer-Encoding',
      { targetUrl: TARGET, headers: { 'Transfer-Encoding': 'chunked' } },
      '/body/headers/Transfer-Encoding',
    ],
    [
      'reserved header TRANSFER-ENCODING',
      { targetUrl: TARGET, headers: { 'TRANSFER-ENCODING': 'chunked' } },
      '/body/headers/TRANSFER-ENCODING',
    ],
    [
      'hop-by-hop header Connection',
      { targetUrl: TARGET, headers: { Connection: 'close' } },
      '/body/headers/Connection',
    ],
    ['hop-by-hop header te', { targetUrl: TARGET, headers: { te: 'trailers' } }, '/body/headers/te'],
    ['a header value with CRLF', { targetUrl: TARGET, headers: { 'X-A': 'a\r\nX-Injected: 1' } }, '/body/headers/X-A'],
    ['a header value with a bare LF', { targetUrl: TARGET, headers: { 'X-A': 'a\nb' } }, '/body/headers/X-A'],
    ['a header value with NUL', { targetUrl: TARGET, headers: { 'X-A': 'a\u0000b' } }, '/body/headers/X-A'],
    ['a header value with a vertical tab', { targetUrl: TARGET, headers: { 'X-A': 'a\u000bb' } }, '/body/headers/X-A'],
    ['a header value with ESC', { targetUrl: TARGET, headers: { 'X-A': '\u001b[31m' } }, '/body/headers/X-A'],
    ['a header value with DEL', { targetUrl: TARGET, headers: { 'X-A': 'a\u007f' } }, '/body/headers/X-A'],
    ['a header value with U+0100', { targetUrl: TARGET, headers: { 'X-A': '\u0100' } }, '/body/headers/X-A'],
    ['a header value with an emoji', { targetUrl: TARGET, headers: { 'X-A': 'ok \u{1f600}' } }, '/body/headers/X-A'],
    ['a header value with the euro sign', { targetUrl: TARGET, headers: { 'X-A': '5 \u20ac' } }, '/body/headers/X-A'],
    ['a numeric header value', { targetUrl: TARGET, headers: { 'X-A': 1 } }, '/body/headers/X-A'],
    ['a null header value', { targetUrl: TARGET, headers: { 'X-A': null } }, '/body/headers/X-A'],
    ['callbackUrl ftp:', { targetUrl: TARGET, callbackUrl: 'ftp://cb.example/' }, '/body/callbackUrl'],
    ['callbackUrl relative', { targetUrl: TARGET, callbackUrl: 'done' }, '/body/callbackUrl'],
  ])('rejects %s at %s', (_label, body, path) => {
    const { valid, details } = check(body);
    expect(valid).toBe(false);
    expect(details.map((d) => d.path)).toEqual([path]);
    expect(details[0]!.message.length).toBeGreaterThan(0);
  });

  it('explains each kind of problem in words', () => {
    const messageAt = (body: Record<string, unknown>) => check(body).details[0]!.message;
    expect(messageAt({ targetUrl: 'ftp://x' })).toBe('must be an absolute http: or https: URL');
    expect(messageAt({ targetUrl: TARGET, bogus: 1 })).toBe('is not a known field');
    expect(messageAt({})).toBe('is required');
    expect(messageAt({ targetUrl: TARGET, method: 'FOO' })).toBe('must be one of GET, POST, PUT, PATCH, DELETE, HEAD');
    expect(messageAt({ targetUrl: TARGET, headers: { Host: 'x' } })).toBe(
      'is a reserved or hop-by-hop header that relay sets itself',
    );
    expect(messageAt({ targetUrl: TARGET, headers: { 'X Bad': 'x' } })).toBe('is not a valid HTTP header name');
    expect(messageAt({ targetUrl: TARGET, headers: { 'X-A': 'a\r\n' } })).toBe(HEADER_VALUE_MESSAGE);
  });

  it('reports every problem of a body at once', () => {
    const { valid, details } = check({
      targetUrl: 'ftp://x',
      method: 'FOO',
      headers: { Host: 'h', 'X Bad': 'v', 'X-A': 'a\r\nb' },
      maxRetries: '3',
      retryDelay: 99,
      timeout: 60_001,
      callbackUrl: 'ftp://cb',
      bogus: 1,
    });
    expect(valid).toBe(false);
    expect(details.map((d) => d.path).sort()).toEqual(
      [
        '/body/bogus',
        '/body/callbackUrl',
        '/body/headers/Host',
        '/body/headers/X Bad',
        '/body/headers/X-A',
        '/body/maxRetries',
        '/body/method',
        '/body/retryDelay',
        '/body/targetUrl',
        '/body/timeout',
      ].sort(),
    );
  });

  describe('header limits', () => {
    /** `count` headers named x-h-<i>, each value `size` bytes of ASCII. */
    const headers = (count: number, size: number) =>
      Object.fromEntries(
        Array.from({ length: count }, (_, i) => [`x-h-${String(i).padStart(2, '0')}`, 'v'.repeat(size)]),
      );

    it('accepts 64 headers and a value of 8 KiB, within 32 KiB in all', () => {
      expect(check({ targetUrl: TARGET, headers: headers(64, 100) }).valid).toBe(true);
      expect(check({ targetUrl: TARGET, headers: headers(1, 8192) }).valid).toBe(true);
      // 4 × (6 + 8186) = 32 768 bytes: exactly the bound.
      expect(check({ targetUrl: TARGET, headers: headers(4, 8186) }).details).toEqual([]);
    });

    it('refuses a 65th header and a value over 8 KiB', () => {
      expect(check({ targetUrl: TARGET, headers: headers(65, 1) }).details.map((d) => d.path)).toEqual([
        '/body/headers',
      ]);
      expect(check({ targetUrl: TARGET, headers: headers(1, 8193) }).details.map((d) => d.path)).toEqual([
        '/body/headers/x-h-00',
      ]);
    });

    it('refuses headers over 32 KiB in all, saying how many bytes they take', () => {
      const { valid, details } = check({ targetUrl: TARGET, headers: headers(4, 8187) });
      expect(valid).toBe(false);
      expect(details).toEqual([
        {
          path: '/body/headers',
          message: 'take 32772 bytes in all (names and values); at most 32768 are allowed',
        },
      ]);
    });

    it('counts bytes, not characters: Latin-1 letters take 2 bytes of UTF-8', () => {
      const value = '\u00e9'.repeat(4096);
      const { details } = check({
        targetUrl: TARGET,
        headers: { 'x-a': value, 'x-b': value, 'x-c': value, 'x-d': value },
      });
      expect(details).toEqual([
        { path: '/body/headers', message: 'take 32780 bytes in all (names and values); at most 32768 are allowed' },
      ]);
    });

    it('accepts tab, space, visible ASCII and Latin-1 in a value', () => {
      const value = `\t ${String.fromCharCode(...Array.from({ length: 0x5f }, (_, i) => 0x20 + i))}\u0080\u00a0\u00e9\u00ff`;
      expect(check({ targetUrl: TARGET, headers: { 'x-a': value } }).details).toEqual([]);
    });

    it('is reported together with the other problems of the body', () => {
      const { details } = check({ targetUrl: 'ftp://x', headers: { ...headers(5, 8000), Host: 'h' } });
      expect(details.map((d) => d.path).sort()).toEqual(['/body/headers', '/body/headers/Host', '/body/targetUrl']);
    });
  });

  it('escapes "/" and "~" in a field name as a JSON pointer', () => {
    const { details } = check({ targetUrl: TARGET, 'a/b~c': 1 });
    expect(details).toEqual([{ path: '/body/a~1b~0c', message: 'is not a known field' }]);
  });
});
