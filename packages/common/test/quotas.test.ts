import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../src/errors.js';
import { JOB_BYTES_ALLOWANCE, jobQuotaBytes, PRIORITY_RANK, quotaError } from '../src/quotas.js';

describe('quotas', () => {
  it('ranks priorities low < normal < high', () => {
    expect(PRIORITY_RANK.low).toBeLessThan(PRIORITY_RANK.normal);
    expect(PRIORITY_RANK.normal).toBeLessThan(PRIORITY_RANK.high);
  });

  it('counts a job as the UTF-8 bytes of its stored spec plus the per-job allowance', () => {
    expect(jobQuotaBytes('{}')).toBe(2 + JOB_BYTES_ALLOWANCE);
    expect(jobQuotaBytes('"é"')).toBe(4 + JOB_BYTES_ALLOWANCE);
  });

  it('answers a used-up unfinished-jobs quota with 429, Retry-After and a message naming quota and limit', () => {
    const err = quotaError({ quota: 'maxUnfinishedJobs', limit: 3, current: 3 });
    expect(err).toMatchObject({ statusCode: 429, code: ErrorCodes.QUOTA_EXCEEDED.code });
    expect(err.headers['retry-after']).toBe('1');
    expect(err.message).toContain('maxUnfinishedJobs');
    expect(err.message).toContain('at most 3');
    expect(err.details).toEqual([{ path: '', message: 'maxUnfinishedJobs=3' }]);
  });

  it('answers a used-up stored-bytes quota with 429 naming the byte limit', () => {
    const err = quotaError({ quota: 'maxStoredBytes', limit: 4096, current: 4000 });
    expect(err).toMatchObject({ statusCode: 429, code: 'RELAY_ERR_QUOTA_EXCEEDED' });
    expect(err.message).toContain('maxStoredBytes');
    expect(err.message).toContain('4096 bytes');
  });

  it('answers a priority above the allowed one with 403 pointing at /priority', () => {
    const err = quotaError({ quota: 'maxPriority', limit: 'normal', requested: 'high' });
    expect(err).toMatchObject({ statusCode: 403, code: 'RELAY_ERR_PRIORITY_NOT_ALLOWED' });
    expect(err.message).toContain("up to 'normal', not 'high'");
    expect(err.details).toEqual([{ path: '/priority', message: 'maxPriority=normal' }]);
  });
});
