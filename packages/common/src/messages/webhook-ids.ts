/**
 * Standard Webhooks `webhook-id`s of a job's results. Every delivery of one
 * result carries the same id, and each result of a job gets its own: a result
 * comes either from an attempt (attempt numbers never repeat within a job; a
 * replay numbers on) or from the cancel of a waiting job, which happens at
 * most once per series (the job's replay count).
 */
export function attemptWebhookId(jobId: string, attempt: number): string {
  return `msg_${jobId}_a${attempt}`;
}

/**
 * The `webhook-id` of a job's signed target requests: one id for all its
 * attempts, replays included, since each one re-sends the same request.
 */
export function targetWebhookId(jobId: string): string {
  return `msg_${jobId}`;
}

/** The `webhook-id` of the result of cancelling a waiting job (see attemptWebhookId). */
export function cancelWebhookId(jobId: string, replays: number): string {
  return `msg_${jobId}_c${replays}`;
}
