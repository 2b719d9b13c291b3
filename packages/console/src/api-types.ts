/**
 * The shapes the console reads. The backend's TypeBox schemas are the source
 * (packages/common job and application schemas; the stream's Snapshot in
 * packages/backend/src/routes/console/schemas.ts); these mirror the fields the
 * console uses, because the browser bundle must not import server packages.
 * Fields the console does not read are left out, not invented.
 */

export type JobStatus = 'queued' | 'in_progress' | 'retrying' | 'completed' | 'failed' | 'cancelled';
export const JOB_STATUSES: readonly JobStatus[] = [
  'queued',
  'in_progress',
  'retrying',
  'completed',
  'failed',
  'cancelled',
];

export interface ApiErrorBody {
  statusCode: number;
  code: string;
  message: string;
  details?: { path: string; message: string }[];
}

export interface JobError {
  code: string;
  message: string;
  systemCode?: string;
}

export interface StoredResponse {
  statusCode: number;
  headers: Record<string, string | string[]>;
  body: unknown;
  truncated: boolean;
  bodyBytes: number;
}

export interface JobSummary {
  jobId: string;
  status: JobStatus;
  attempts: number;
  targetUrl: string;
  method: string;
  priority?: string;
  metadata?: Record<string, string>;
  createdAt: string;
  updatedAt: string;
  completedAt?: string | null;
  nextAttemptAt?: string | null;
  lastStatusCode?: number | null;
  error?: JobError | null;
  callbackStatus?: string | null;
  deadLetteredAt?: string | null;
  replays?: number;
}

export interface Attempt {
  attempt: number;
  startedAt: string;
  durationMs: number;
  statusCode: number | null;
  success: boolean;
  response: StoredResponse | null;
  error: JobError | null;
  retryable: boolean;
}

export interface CallbackState {
  status: 'pending' | 'retrying' | 'delivered' | 'failed';
  statusCode: number | null;
  attempts: number;
  error: JobError | null;
  lastAttemptAt: string | null;
  nextAttemptAt: string | null;
}

export interface Job extends JobSummary {
  headers: Record<string, string>;
  payload: unknown;
  callbackUrl?: string | null;
  maxRetries: number;
  retryDelay: number;
  timeout: number;
  lastResponse: StoredResponse | null;
  attemptsLog: Attempt[];
  attemptsLogTotal?: number;
  attemptsLogDropped?: number;
  callback: CallbackState | null;
  cancelRequested?: boolean;
  requestId?: string;
}

export interface JobPage {
  jobs: JobSummary[];
  nextCursor: string | null;
}

export interface DeadLetterPage {
  deadLetters: JobSummary[];
  nextCursor: string | null;
}

export interface BulkReplayResult {
  replayed: string[];
  failed: { jobId: string; code: string; message: string }[];
  nextCursor: string | null;
}

export interface RateLimit {
  max: number;
  windowMs: number;
}

export interface Quotas {
  maxUnfinishedJobs: number | null;
  maxStoredBytes: number | null;
  maxPriority: 'low' | 'normal' | 'high' | null;
}

export interface Application {
  id: string;
  name: string;
  createdAt: string;
  revokedAt?: string | null;
  rateLimit?: RateLimit | null;
  quotas?: Quotas;
  signTargetRequests?: boolean;
  signingSecrets?: { createdAt: string; expiresAt: string | null }[];
}

export interface CreatedApplication extends Application {
  apiKey: string;
  signingSecret: string;
  targetSigningSecret: string;
}

export interface RotatedSecret {
  signingSecret: string;
  targetSigningSecret: string;
}

/** One point of the live stream (`GET /api/console/stream`, events `history` and `snapshot`). */
export interface Snapshot {
  at: string;
  totals: {
    accepted: number;
    completed: number;
    failed: number;
    retried: number;
    cancelled: number;
    deadLettered: number;
  };
  rates: { accepted: number; completed: number; failed: number; retried: number };
  latencyMs: { p50: number | null; p90: number | null; p99: number | null };
  queues: { work: number; delayed: number; deadLetters: number };
  workers: {
    id: string;
    host: string;
    pid: number;
    inFlight: number;
    state: 'consuming' | 'paused' | 'draining';
    lastSeenAt: string;
  }[];
  top: {
    applications: { id: string; accepted: number; failed: number }[];
    destinations: { host: string; completed: number; failed: number }[];
  };
}
