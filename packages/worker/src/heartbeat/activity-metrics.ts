import { JobStatus } from '@relay/common';
import type { AttemptMetrics, CallbackMetrics } from '../ports.js';
import type { ActivityWindow } from './activity-window.js';

const FINISHED: ReadonlySet<string> = new Set<string>([JobStatus.completed, JobStatus.failed, JobStatus.cancelled]);

/**
 * The flows' metrics ports, reporting to `inner` (Prometheus) and to the
 * console's activity window alike, so that the flows keep one port to call.
 */
export function withActivity(
  inner: AttemptMetrics & CallbackMetrics,
  activity: ActivityWindow,
  now: () => number,
): AttemptMetrics & CallbackMetrics {
  return {
    ...inner,
    attempt(entry, decision, context) {
      inner.attempt(entry, decision, context);
      if (context) activity.attempt(context.application, context.host, entry.success);
    },
    jobFinished(status, createdAtMs, application) {
      inner.jobFinished(status, createdAtMs, application);
      if (FINISHED.has(status)) activity.finished(application, now() - createdAtMs);
    },
  };
}
