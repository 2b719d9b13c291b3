import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, redactLogObject } from '../src/logger.js';
import { defaultHeaderRedactor, HeaderRedactor, REDACTED, SENSITIVE_HEADER_NAMES } from '../src/redact.js';

describe('HeaderRedactor', () => {
  const redactor = new HeaderRedactor();

  it.each(SENSITIVE_HEADER_NAMES)('redacts the built-in %s', (name) => {
    expect(redactor.redact({ [name]: 'secret-value' })).toEqual({ [name]: REDACTED });
  });

  it.each(['Authorization', 'AUTHORIZATION', 'Cookie', 'X-Api-Key', 'X-API-KEY', 'Proxy-Authorization', 'Set-Cookie'])(
    'matches %s whatever its case, and keeps the name as given',
    (name) => {
      expect(redactor.redact({ [name]: 'secret-value' })).toEqual({ [name]: REDACTED });
    },
  );

  it('leaves other headers untouched', () => {
    const headers = {
      'Content-Type': 'application/json',
      'X-Trace-Id': 'abc',
      'X-Authorization-Hint': 'not a credential',
      Authorization: 'Bearer t0ken',
    };
    expect(redactor.redact(headers)).toEqual({
      'Content-Type': 'application/json',
      'X-Trace-Id': 'abc',
      'X-Authorization-Hint': 'not a credential',
      Authorization: REDACTED,
    });
  });

  it('returns a copy and does not mutate its input', () => {
    const headers = { Authorization: 'Bearer t0ken', Accept: '*/*' };
    const out = redactor.redact(headers);
    expect(headers).toEqual({ Authorization: 'Bearer t0ken', Accept: '*/*' });
    expect(out).not.toBe(headers);
  });

  it('returns an empty object for no headers', () => {
    expect(redactor.redact({})).toEqual({});
    expect(redactor.secrets({})).toEqual({});
  });

  it('adds configured names (any case) to the built-in ones, which cannot be removed', () => {
    const custom = new HeaderRedactor(['X-Tenant-Token', 'x-signature', 'AUTHORIZATION']);
    expect(custom.names).toEqual([...SENSITIVE_HEADER_NAMES, 'x-tenant-token', 'x-signature']);
    expect(custom.redact({ 'x-tenant-token': 'a', 'X-SIGNATURE': 'b', Authorization: 'c', 'X-Other': 'd' })).toEqual({
      'x-tenant-token': REDACTED,
      'X-SIGNATURE': REDACTED,
      Authorization: REDACTED,
      'X-Other': 'd',
    });
    // The default redactor does not know the configured names.
    expect(defaultHeaderRedactor.isSensitive('x-tenant-token')).toBe(false);
  });

  it('picks the credential subset for sealing, names as given', () => {
    const custom = new HeaderRedactor(['x-signature']);
    expect(custom.secrets({ Cookie: 'c=1', 'X-Signature': 's', Accept: '*/*' })).toEqual({
      Cookie: 'c=1',
      'X-Signature': 's',
    });
  });
});

describe('log redaction', () => {
  function logOnce(redactor: HeaderRedactor, obj: Record<string, unknown>): string {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString('utf8'));
        done();
      },
    });
    createLogger({ name: 'test', level: 'info', destination: sink, redactor }).info(obj, 'line');
    return lines.join('');
  }

  it('returns a line without credentials as it is, without copying it', () => {
    const obj = { method: 'POST', url: '/api/jobs', statusCode: 202, nested: { headers: { accept: '*/*' } } };
    expect(redactLogObject(obj, defaultHeaderRedactor)).toBe(obj);
  });

  it('copies only what it redacts and leaves the logged object unchanged', () => {
    const spec = { targetUrl: 'https://example.test/', headers: { 'X-API-KEY': 'k1', accept: '*/*' } };
    const other = { n: 1 };
    const obj = { message: { spec }, other };
    const out = redactLogObject(obj, defaultHeaderRedactor);
    expect(out.message.spec.headers).toEqual({ 'X-API-KEY': REDACTED, accept: '*/*' });
    expect(spec.headers['X-API-KEY']).toBe('k1');
    expect(out.other).toBe(other);
  });

  it('keeps an error an error (message and stack) when it redacts headers inside it', () => {
    const err = Object.assign(new Error('answered 401'), { headers: { 'set-cookie': 'sid=s1' } });
    const line = logOnce(defaultHeaderRedactor, { err });
    const parsed = JSON.parse(line);
    expect(parsed.err).toMatchObject({ message: 'answered 401', type: 'Error', headers: { 'set-cookie': REDACTED } });
    expect(parsed.err.stack).toContain('answered 401');
    expect(err.headers['set-cookie']).toBe('sid=s1');
  });

  it('redacts the bindings of child loggers and their children too', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString('utf8'));
        done();
      },
    });
    const log = createLogger({ name: 'test', level: 'info', destination: sink });
    log.child({ call: { headers: { Cookie: 'sid=b1', accept: '*/*' } } }).info('child');
    log
      .child({ jobId: 'j1' })
      .child({ headers: { authorization: 'Bearer b2' } })
      .info('grandchild');
    const [child, grandchild] = lines.map((line) => JSON.parse(line));
    expect(child.call.headers).toEqual({ Cookie: REDACTED, accept: '*/*' });
    expect(grandchild).toMatchObject({ jobId: 'j1', headers: { authorization: REDACTED } });
  });

  it('stops at a depth of four and on cycles', () => {
    const deep = { a: { b: { c: { d: { e: { headers: { cookie: 'too-deep' } } } } } } };
    expect(redactLogObject(deep, defaultHeaderRedactor)).toBe(deep);
    const cyclic: Record<string, unknown> = { headers: { cookie: 'c1' } };
    cyclic.self = cyclic;
    expect(logOnce(defaultHeaderRedactor, cyclic)).not.toContain('c1');
  });

  it('removes built-in and configured credential headers from log lines', () => {
    const line = logOnce(new HeaderRedactor(['x-tenant-token']), {
      req: { headers: { authorization: 'Bearer s1', 'x-tenant-token': 's2' } },
      spec: { headers: { Authorization: 'Bearer s3', 'X-Tenant-Token': 's4', Accept: 'text/plain' } },
      job: { headers: { cookie: 's5' } },
    });
    for (const secret of ['s1', 's2', 's3', 's4', 's5']) expect(line).not.toContain(`"${secret}"`);
    expect(line).not.toContain('Bearer');
    expect(line).toContain('text/plain');
    expect(JSON.parse(line).spec.headers['X-Tenant-Token']).toBe(REDACTED);
  });

  it('does not know configured names unless given them', () => {
    const line = logOnce(defaultHeaderRedactor, { headers: { 'x-tenant-token': 'visible' } });
    expect(line).toContain('visible');
  });

  it('accepts any header token as a name without breaking the logger', () => {
    const odd = new HeaderRedactor(["x-a'b", 'x.dot', 'x_under', 'x~tilde', 'x|pipe', 'x#hash']);
    const line = logOnce(odd, { headers: { "x-a'b": 'q1', 'x.dot': 'q2', 'x|pipe': 'q3' } });
    for (const secret of ['q1', 'q2', 'q3']) expect(line).not.toContain(secret);
  });
});
