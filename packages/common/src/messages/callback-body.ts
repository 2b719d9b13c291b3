import type { CallbackBody, JobView } from '../job-schema.js';
import { JobStatus } from '../status.js';

/** The one builder of a callback document; `success` follows from the status. */
export function callbackBody(input: Omit<CallbackBody, 'success'>): CallbackBody {
  return { ...input, success: input.status === JobStatus.completed };
}

/** The callback document of a finished job, from its record. */
export function callbackBodyFromJob(job: JobView): CallbackBody {
  return callbackBody({
    jobId: job.jobId,
    status: job.status,
    attempts: job.attempts,
    statusCode: job.attemptsLog.at(-1)?.statusCode ?? null,
    response: job.lastResponse,
    error: job.error,
    completedAt: job.completedAt ?? job.updatedAt,
    targetUrl: job.targetUrl,
    method: job.method,
  });
}
