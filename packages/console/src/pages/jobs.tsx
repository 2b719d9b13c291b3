import { api, qs } from '../api.js';
import type { JobPage } from '../api-types.js';
import { FilterForm } from '../components/filter-form.js';
import { JobTable } from '../components/job-table.js';
import { BASE, navigate } from '../router.js';
import { Empty, ErrorBox, Loading, useAsync } from '../ui.js';

/** The job explorer: the filter lives in the URL, the list is GET /api/jobs with the same query. */
export function JobExplorer({ query }: { query: URLSearchParams }) {
  const key = query.toString();
  const page = useAsync((signal) => api<JobPage>(`/api/jobs${qs(query)}`, { signal }), key);
  const filtered = [...query.keys()].some((k) => k !== 'cursor');

  const nextQuery = (cursor: string) => {
    const q = new URLSearchParams(query);
    q.set('cursor', cursor);
    return q;
  };

  return (
    <section aria-labelledby="jobs-title">
      <div class="page-head">
        <h1 id="jobs-title">Jobs</h1>
      </div>
      <FilterForm idPrefix="jobs" query={query} onApply={(q) => navigate(`/jobs${qs(q)}`)} />
      <div aria-live="polite">
        {page.loading ? (
          <Loading what="jobs" />
        ) : page.error ? (
          <ErrorBox error={page.error} next={<button onClick={page.reload}>Try again</button>} />
        ) : page.data && page.data.jobs.length === 0 ? (
          <Empty>
            {filtered ? (
              <p>No job matches this filter. Widen it (fewer statuses, no time bounds) or clear it.</p>
            ) : (
              <p>
                No jobs yet. Submit one with <code>POST /api/jobs</code> (see the API guide at <a href="/docs">/docs</a>
                ).
              </p>
            )}
          </Empty>
        ) : page.data ? (
          <>
            <p class="count">
              {page.data.jobs.length} job{page.data.jobs.length === 1 ? '' : 's'} on this page, newest first
            </p>
            <JobTable jobs={page.data.jobs} caption="Jobs matching the filter" />
            <nav class="pager" aria-label="Pages">
              {query.has('cursor') ? (
                <a href={`${BASE}/jobs${qs(new URLSearchParams([...query].filter(([k]) => k !== 'cursor')))}`}>
                  First page
                </a>
              ) : null}
              {page.data.nextCursor ? (
                <a href={`${BASE}/jobs${qs(nextQuery(page.data.nextCursor))}`}>Next page</a>
              ) : null}
            </nav>
          </>
        ) : null}
      </div>
    </section>
  );
}
