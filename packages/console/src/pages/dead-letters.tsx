import { useState } from 'preact/hooks';
import { api, ApiError, qs } from '../api.js';
import type { BulkReplayResult, DeadLetterPage, Job } from '../api-types.js';
import { FilterForm } from '../components/filter-form.js';
import { JobTable } from '../components/job-table.js';
import { replayBodyFromQuery } from '../filters.js';
import { excerpt } from '../format.js';
import { BASE, navigate } from '../router.js';
import { Empty, ErrorBox, Loading, Notice, useAsync } from '../ui.js';

/** Dead letters replayed per bulk call: the API's largest `limit`, so "all" takes few round trips. */
const BULK_LIMIT = 1000;
/** Stops "replay all" after this many calls, so a filter that keeps matching new failures cannot loop forever. */
const BULK_MAX_CALLS = 100;

export function DeadLetters({ query }: { query: URLSearchParams }) {
  const key = query.toString();
  const page = useAsync((signal) => api<DeadLetterPage>(`/api/dead-letters${qs(query)}`, { signal }), key);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [preview, setPreview] = useState<Job | null>(null);
  const [previewError, setPreviewError] = useState<unknown>(null);
  const [confirmAll, setConfirmAll] = useState(false);
  const [busy, setBusy] = useState(false);
  const [notice, setNotice] = useState<{ message: string; kind: 'ok' | 'bad' } | null>(null);

  const items = page.data?.deadLetters ?? [];
  const toggle = (id: string) =>
    setSelected((s) => {
      const next = new Set(s);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });
  const toggleAll = () =>
    setSelected((s) => (items.every((j) => s.has(j.jobId)) ? new Set() : new Set(items.map((j) => j.jobId))));

  const showPreview = async (jobId: string) => {
    setPreviewError(null);
    try {
      setPreview(await api<Job>(`/api/job/${encodeURIComponent(jobId)}`));
    } catch (err) {
      setPreviewError(err);
    }
  };

  const finish = (replayed: number, failed: { jobId: string; code: string; message: string }[]) => {
    const parts = [`Replayed ${replayed} dead letter${replayed === 1 ? '' : 's'}.`];
    if (failed.length)
      parts.push(`${failed.length} could not be replayed: ${failed[0]!.message} (${failed[0]!.code}).`);
    setNotice({ kind: failed.length ? 'bad' : 'ok', message: parts.join(' ') });
    setSelected(new Set());
    setPreview(null);
    page.reload();
  };

  const replaySelected = async () => {
    setBusy(true);
    const failed: { jobId: string; code: string; message: string }[] = [];
    let replayed = 0;
    for (const jobId of selected) {
      try {
        await api(`/api/job/${encodeURIComponent(jobId)}/replay`, { method: 'POST' });
        replayed += 1;
      } catch (err) {
        failed.push({
          jobId,
          code: err instanceof ApiError ? err.code : 'ERROR',
          message: String((err as Error).message),
        });
      }
    }
    setBusy(false);
    finish(replayed, failed);
  };

  const replayAll = async () => {
    setBusy(true);
    setConfirmAll(false);
    let replayed = 0;
    const failed: BulkReplayResult['failed'] = [];
    try {
      // Each call replays from the start of the list: replayed jobs leave it, so the next call finds the rest.
      for (let call = 0; call < BULK_MAX_CALLS; call++) {
        const res = await api<BulkReplayResult>('/api/dead-letters/replay', {
          method: 'POST',
          body: replayBodyFromQuery(query, BULK_LIMIT),
        });
        replayed += res.replayed.length;
        failed.push(...res.failed);
        if (!res.nextCursor || res.replayed.length === 0) break;
      }
      finish(replayed, failed);
    } catch (err) {
      setNotice({ kind: 'bad', message: err instanceof ApiError ? `${err.message} (${err.code})` : String(err) });
      page.reload();
    } finally {
      setBusy(false);
    }
  };

  const filtered = [...query.keys()].some((k) => k !== 'cursor');
  return (
    <section aria-labelledby="dl-title">
      <div class="page-head">
        <h1 id="dl-title">Dead letters</h1>
      </div>
      <p class="hint">
        Jobs that failed for good. A replay runs a job again under the same id with a fresh set of retries.
      </p>
      <FilterForm
        idPrefix="dl"
        query={query}
        showStatus={false}
        onApply={(q) => {
          setSelected(new Set());
          navigate(`/dead-letters${qs(q)}`);
        }}
      />
      <Notice message={notice?.message ?? null} kind={notice?.kind} />
      {page.loading && !page.data ? (
        <Loading what="dead letters" />
      ) : page.error ? (
        <ErrorBox error={page.error} next={<button onClick={page.reload}>Try again</button>} />
      ) : items.length === 0 ? (
        <Empty>
          <p>
            {filtered
              ? 'No dead letter matches this filter. Clear it to see them all.'
              : 'No dead letters: every job that ended has completed or was cancelled.'}
          </p>
        </Empty>
      ) : (
        <>
          <div class="actions bulk">
            <button type="button" disabled={busy || selected.size === 0} onClick={() => void replaySelected()}>
              Replay selected ({selected.size})
            </button>
            <button
              type="button"
              class="secondary"
              disabled={busy || selected.size !== 1}
              onClick={() => void showPreview([...selected][0]!)}
            >
              Preview replay
            </button>
            {!confirmAll ? (
              <button type="button" class="secondary" disabled={busy} onClick={() => setConfirmAll(true)}>
                Replay all matching…
              </button>
            ) : (
              <span class="confirm" role="group" aria-label="Confirm replay of all matching">
                Replay {page.data?.nextCursor ? `all ${items.length}+` : `all ${items.length}`} dead letters
                {filtered ? ' matching this filter' : ''}?{' '}
                <button type="button" onClick={() => void replayAll()} autoFocus>
                  Yes, replay all
                </button>{' '}
                <button type="button" class="secondary" onClick={() => setConfirmAll(false)}>
                  Not now
                </button>
              </span>
            )}
          </div>
          <JobTable jobs={items} caption="Dead letters" select={{ selected, toggle, toggleAll }} />
          {page.data?.nextCursor ? (
            <p class="hint">More dead letters match than are shown; "Replay all matching" replays them too.</p>
          ) : null}
        </>
      )}
      {previewError ? <ErrorBox error={previewError} /> : null}
      {preview ? (
        <section class="panel preview" aria-labelledby="preview-title">
          <h2 id="preview-title">What a replay sends</h2>
          <p>
            <span class="method">{preview.method}</span> <span class="break">{preview.targetUrl}</span>
          </p>
          <p class="hint">
            Headers as stored; [redacted] ones are sent with their real values when relay kept them encrypted
            (RELAY_SECRET_KEY), and the replay is refused otherwise.{' '}
            <a href={`${BASE}/jobs/${preview.jobId}`}>Open the job</a>.
          </p>
          <pre class="code-block" tabIndex={0} aria-label="Headers">
            {JSON.stringify(preview.headers ?? {}, null, 2)}
          </pre>
          <pre class="code-block" tabIndex={0} aria-label="Payload">
            {preview.payload === null ? '(no body)' : excerpt(preview.payload, 10_000)}
          </pre>
        </section>
      ) : null}
    </section>
  );
}
