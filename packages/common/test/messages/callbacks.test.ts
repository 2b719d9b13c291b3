import { describe, expect, it } from 'vitest';
import { attemptWebhookId, callbackMessage, cancelWebhookId } from '../../src/messages/index.js';
import type { CallbackBody } from '../../src/job-schema.js';

const jobId = '6f1c2b9e-4d1a-4c51-9a43-2f0e8f1d7b10';
const body: CallbackBody = {
  jobId,
  status: 'completed',
  success: true,
  attempts: 3,
  statusCode: 200,
  response: null,
  error: null,
  completedAt: '2025-01-01T12:00:00.000Z',
  targetUrl: 'http://127.0.0.1:1/x',
  method: 'GET',
};

describe('webhook ids of job results', () => {
  it('names a result by the attempt that produced it, by default', () => {
    expect(callbackMessage(jobId, 'http://127.0.0.1:1/cb', body, 1, 'app_x').webhookId).toBe(`msg_${jobId}_a3`);
  });

  it('keeps the id across deliveries of the same result', () => {
    const first = callbackMessage(jobId, 'http://127.0.0.1:1/cb', body, 1, 'app_x');
    const third = callbackMessage(jobId, 'http://127.0.0.1:1/cb', body, 3, 'app_x');
    expect(third.webhookId).toBe(first.webhookId);
  });

  it('gives each result of a job its own id, cancels of waiting jobs included', () => {
    // Series 0 fails at attempt 3; replay 1 is cancelled while waiting (still
    // 3 attempts); replay 2 is cancelled while waiting too; replay 3 runs attempt 4.
    const ids = [
      attemptWebhookId(jobId, 3),
      cancelWebhookId(jobId, 1),
      cancelWebhookId(jobId, 2),
      attemptWebhookId(jobId, 4),
    ];
    expect(new Set(ids).size).toBe(ids.length);
  });
});
