import { useEffect, useState } from 'preact/hooks';
import { api, ApiError } from '../api.js';
import type { Attempt, Job } from '../api-types.js';
import { excerpt, formatMs, formatTime } from '../format.js';
import { BASE } from '../router.js';
import { ErrorBox, Loading, Notice, StatusBadge, useAsync } from '../ui.js';

const FINAL = new Set(['completed', 'failed', 'cancelled']);
/** How often an unfinished job is fetched again, so its timeline moves while one watches (ms). */
const POLL_MS = 2_000;

export function JobPage({ jobId }: { jobId: string }) {
  const job = useAsync((signal) => api<Job>(`/api/job/${encodeURIComponent(jobId)}`, { signal }), jobId);
  const [notice, setNotice] = useState<{ message: string; kind: 'ok' | 'bad' } | null>(null);
  const [confirmCancel, setConfirmCancel] = useState(false);
  const [busy, setBusy] = useState(false);

  const unfinished =
    job.data &&
    (!FINAL.has(job.data.status) ||
      job.data.callback?.status === 'pending' ||
      job.data.callback?.status === 'retrying');
  useEffect(() => {
    if (!unfinished) return;
    const timer = setTimeout(job.reload, POLL_MS);
    return () => clearTimeout(timer);
  }, [job.data, unfinished]);

  if (job.loading && !job.data) return <Loading what="the job" />;
  if (job.error && !job.data) {
    const notFound = job.error instanceof ApiError && (job.error.status === 404 || job.error.status === 400);
    return (
      <section>
        <h1>Job {jobId}</h1>
        <ErrorBox
          error={job.error}
          next={
            notFound ? (
              <>
                Jobs are kept 24 hours after their last change, and only their own application sees them. Look for it in
                the <a href={`${BASE}/jobs`}>job explorer</a>.
              </>
            ) : (
              <button onClick={job.reload}>Try again</button>
            )
          }
        />
      </section>
    );
  }
  const j = job.data!;

  const act = async (action: 'cancel' | 'replay') => {
    setBusy(true);
    setConfirmCancel(false);
    try {
      const res = await api<{ status: string; cancelRequested?: boolean }>(
        `/api/job/${encodeURIComponent(jobId)}/${action}`,
        {
          method: 'POST',
        },
      );
      setNotice({
        kind: 'ok',
        message:
          action === 'replay'
            ? 'Replayed: the job is queued again and runs with a fresh set of retries.'
            : res.cancelRequested
              ? 'Cancel requested: the running attempt finishes, then the job ends cancelled.'
              : 'Cancelled: the job makes no further attempt.',
      });
    } catch (err) {
      setNotice({ kind: 'bad', message: err instanceof ApiError ? `${err.message} (${err.code})` : String(err) });
    } finally {
      setBusy(false);
      job.reload();
    }
  };

  const canCancel = j.status === 'queued' || j.status === 'retrying' || j.status === 'in_progress';
  const canReplay = j.status === 'failed' || j.status === 'cancelled';

  return (
    <article aria-labelledby="job-title">
      <p class="crumbs">
        <a href={`${BASE}/jobs`}>Jobs</a> /
      </p>
      <div class="page-head">
        <h1 id="job-title">
          Job <span class="mono">{j.jobId}</span>
        </h1>
        <StatusBadge status={j.status} />
      </div>
      <div class="actions job-actions">
        {canCancel && !confirmCancel ? (
          <button type="button" class="danger" disabled={busy} onClick={() => setConfirmCancel(true)}>
            Cancel job
          </button>
        ) : null}
        {confirmCancel ? (
          <span class="confirm" role="group" aria-label="Confirm cancel">
            Cancel this job? It makes no further attempt.{' '}
            <button type="button" class="danger" onClick={() => void act('cancel')} autoFocus>
              Yes, cancel it
            </button>{' '}
            <button type="button" class="secondary" onClick={() => setConfirmCancel(false)}>
              Keep it
            </button>
          </span>
        ) : null}
        {canReplay ? (
          <button type="button" disabled={busy} onClick={() => void act('replay')}>
            Replay job
          </button>
        ) : null}
        {!canCancel && !canReplay ? <span class="hint">Completed jobs cannot be cancelled or replayed.</span> : null}
      </div>
      <Notice message={notice?.message ?? null} kind={notice?.kind} />

      <div class="grid grid-2">
        <section class="panel" aria-labelledby="spec-title">
          <h2 id="spec-title">Request</h2>
          <dl class="kv">
            <dt>Target</dt>
            <dd class="break">
              <span class="method">{j.method}</span> {j.targetUrl}
            </dd>
            <dt>Priority</dt>
            <dd>{j.priority ?? 'normal'}</dd>
            <dt>Retries</dt>
            <dd>
              up to {j.maxRetries}, base delay {formatMs(j.retryDelay)}, timeout {formatMs(j.timeout)} per attempt
            </dd>
            <dt>Metadata</dt>
            <dd>
              {Object.keys(j.metadata ?? {}).length
                ? Object.entries(j.metadata ?? {}).map(([k, v]) => (
                    <span class="tag" key={k}>
                      {k}={v}
                    </span>
                  ))
                : '—'}
            </dd>
            <dt>Created</dt>
            <dd>{formatTime(j.createdAt)}</dd>
            <dt>Finished</dt>
            <dd>{formatTime(j.completedAt)}</dd>
            {j.nextAttemptAt ? (
              <>
                <dt>Next attempt</dt>
                <dd>{formatTime(j.nextAttemptAt)}</dd>
              </>
            ) : null}
            {j.replays ? (
              <>
                <dt>Replays</dt>
                <dd>{j.replays}</dd>
              </>
            ) : null}
          </dl>
          <h3>Headers</h3>
          <p class="hint">Credential headers are shown as [redacted], as the API returns them.</p>
          <pre class="code-block" tabIndex={0} aria-label="Request headers">
            {Object.keys(j.headers ?? {}).length ? JSON.stringify(j.headers, null, 2) : '(none)'}
          </pre>
          <h3>Payload</h3>
          <pre class="code-block" tabIndex={0} aria-label="Payload">
            {j.payload === null || j.payload === undefined ? '(none)' : excerpt(j.payload, 10_000)}
          </pre>
        </section>
        <section class="panel" aria-labelledby="callback-title">
          <h2 id="callback-title">Callback</h2>
          {!j.callback ? (
            <p>This job has no callback URL.</p>
          ) : (
            <dl class="kv">
              <dt>URL</dt>
              <dd class="break">{j.callbackUrl}</dd>
              <dt>State</dt>
              <dd>
                <StatusBadge status={j.callback.status} />
              </dd>
              <dt>Deliveries</dt>
              <dd>{j.callback.attempts}</dd>
              <dt>Receiver answered</dt>
              <dd>{j.callback.statusCode ?? '—'}</dd>
              <dt>Last delivery</dt>
              <dd>{formatTime(j.callback.lastAttemptAt)}</dd>
              {j.callback.nextAttemptAt ? (
                <>
                  <dt>Next delivery</dt>
                  <dd>{formatTime(j.callback.nextAttemptAt)}</dd>
                </>
              ) : null}
              {j.callback.error ? (
                <>
                  <dt>Error</dt>
                  <dd>
                    <code>{j.callback.error.code}</code> {j.callback.error.message}
                  </dd>
                </>
              ) : null}
            </dl>
          )}
        </section>
      </div>
      <Timeline job={j} />
    </article>
  );
}

function Timeline({ job }: { job: Job }) {
  const [all, setAll] = useState<Attempt[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const total = job.attemptsLogTotal ?? job.attemptsLog.length;
  const attempts = all ?? job.attemptsLog;
  const more = !all && total - (job.attemptsLogDropped ?? 0) > job.attemptsLog.length;

  const loadAll = async () => {
    try {
      const out: Attempt[] = [];
      let offset: number | null = job.attemptsLogDropped ?? 0;
      while (offset !== null) {
        const page: { attempts: Attempt[]; nextOffset: number | null } = await api(
          `/api/job/${encodeURIComponent(job.jobId)}/attempts?offset=${offset}&limit=100`,
        );
        out.push(...page.attempts);
        offset = page.nextOffset;
      }
      setAll(out);
    } catch (err) {
      setError(err);
    }
  };

  return (
    <section class="panel" aria-labelledby="timeline-title">
      <h2 id="timeline-title">Attempts ({total})</h2>
      {job.attemptsLogDropped ? (
        <p class="hint">The {job.attemptsLogDropped} oldest attempts were dropped (ATTEMPT_LOG_MAX).</p>
      ) : null}
      {attempts.length === 0 ? (
        <p>
          No attempt yet.{' '}
          {job.status === 'queued' ? 'The job waits for a worker; the overview shows whether one is online.' : null}
        </p>
      ) : (
        <ol class="timeline">
          {attempts.map((a) => (
            <li key={a.attempt} class={a.success ? 'ok' : 'bad'}>
              <div class="attempt-head">
                <strong>Attempt {a.attempt}</strong>
                <StatusBadge status={a.success ? 'succeeded' : a.retryable ? 'retryable' : 'failed'} />
                <span>{a.statusCode === null ? 'no answer' : `HTTP ${a.statusCode}`}</span>
                <span>{formatMs(a.durationMs)}</span>
                <time dateTime={a.startedAt}>{formatTime(a.startedAt)}</time>
              </div>
              {a.error ? (
                <p>
                  <code>{a.error.code}</code> {a.error.message}
                  {a.error.systemCode ? <code>{a.error.systemCode}</code> : null}
                </p>
              ) : null}
              {a.response && a.response.body !== null && a.response.body !== '' ? (
                <details>
                  <summary>
                    Response body ({a.response.bodyBytes} bytes{a.response.truncated ? ', truncated' : ''})
                  </summary>
                  <pre class="code-block">{excerpt(a.response.body)}</pre>
                </details>
              ) : null}
            </li>
          ))}
          {job.nextAttemptAt && job.status === 'retrying' ? (
            <li class="next">
              <strong>Next attempt</strong> at <time dateTime={job.nextAttemptAt}>{formatTime(job.nextAttemptAt)}</time>
            </li>
          ) : null}
        </ol>
      )}
      {more ? (
        <button type="button" class="secondary" onClick={() => void loadAll()}>
          Show all {total} attempts
        </button>
      ) : null}
      {error ? <ErrorBox error={error} /> : null}
    </section>
  );
}
