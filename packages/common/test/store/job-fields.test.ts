import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { jobHeadersAad, secretKeys, unsealJson } from '../../src/secrets.js';
import { newJobFields } from '../../src/store/job-fields.js';
import { JOB_LAYOUT_VERSION } from '../../src/store/layout.js';
import type { JobSpec } from '../../src/job-schema.js';

const createdAt = new Date('2026-12-01T10:00:00.000Z');
const spec = { targetUrl: 'https://API.example.com/hook', method: 'GET', headers: {} } as unknown as JobSpec;

describe('newJobFields', () => {
  it('holds only fields with a value: no app for the default application, no request id or seal when absent', () => {
    const fields = newJobFields(
      { jobId: 'j1', spec, createdAt, requestId: null, traceId: 't'.repeat(32) },
      'default',
      {},
      secretKeys(''),
    );
    expect(fields).toEqual({
      v: JOB_LAYOUT_VERSION,
      status: 'queued',
      attempts: 0,
      createdAtMs: createdAt.getTime(),
      updatedAt: '2026-12-01T10:00:00.000Z',
      traceId: 't'.repeat(32),
      url: 'https://API.example.com/hook',
      host: 'api.example.com',
    });
  });

  it('names the application and the request, and seals the credential headers to this job when a key is set', () => {
    const key = randomBytes(32).toString('base64');
    const fields = newJobFields(
      { jobId: 'j2', spec, createdAt, requestId: 'req-1', traceId: 't'.repeat(32) },
      'app_x',
      { authorization: 'Bearer s3cret' },
      secretKeys(key),
    );
    expect(fields).toMatchObject({ app: 'app_x', requestId: 'req-1' });
    expect(String(fields.sealedHeaders)).not.toContain('s3cret');
    expect(unsealJson(String(fields.sealedHeaders), secretKeys(key), jobHeadersAad('j2', 'app_x'))).toEqual({
      authorization: 'Bearer s3cret',
    });
    // Without a key the credentials are not kept at all (the stored spec has them redacted).
    expect(
      newJobFields(
        { jobId: 'j2', spec, createdAt, requestId: null, traceId: 'x' },
        'app_x',
        { a: 'b' },
        secretKeys(''),
      ),
    ).not.toHaveProperty('sealedHeaders');
  });
});
