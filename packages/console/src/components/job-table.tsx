import type { JobSummary } from '../api-types.js';
import { formatTime } from '../format.js';
import { BASE } from '../router.js';
import { StatusBadge } from '../ui.js';

/** A list of job summaries; each id links to its job page. `select` adds a checkbox column. */
export function JobTable({
  jobs,
  caption,
  select,
}: {
  jobs: JobSummary[];
  caption: string;
  select?: { selected: Set<string>; toggle(jobId: string): void; toggleAll(): void };
}) {
  const allSelected = select ? jobs.length > 0 && jobs.every((j) => select.selected.has(j.jobId)) : false;
  return (
    <div class="table-wrap">
      <table class="jobs">
        <caption class="sr-only">{caption}</caption>
        <thead>
          <tr>
            {select ? (
              <th scope="col">
                <input
                  type="checkbox"
                  aria-label="Select all on this page"
                  checked={allSelected}
                  onChange={select.toggleAll}
                />
              </th>
            ) : null}
            <th scope="col">Job</th>
            <th scope="col">Status</th>
            <th scope="col">Target</th>
            <th scope="col" class="wide">
              Metadata
            </th>
            <th scope="col">Attempts</th>
            <th scope="col" class="wide">
              Last error
            </th>
            <th scope="col">Created</th>
          </tr>
        </thead>
        <tbody>
          {jobs.map((j) => (
            <tr key={j.jobId}>
              {select ? (
                <td>
                  <input
                    type="checkbox"
                    aria-label={`Select job ${j.jobId}`}
                    checked={select.selected.has(j.jobId)}
                    onChange={() => select.toggle(j.jobId)}
                  />
                </td>
              ) : null}
              <td>
                <a href={`${BASE}/jobs/${encodeURIComponent(j.jobId)}`} class="mono">
                  {j.jobId.slice(0, 8)}
                  <span class="sr-only">{j.jobId.slice(8)}</span>
                </a>
              </td>
              <td>
                <StatusBadge status={j.status} />
              </td>
              <td class="target">
                <span class="method">{j.method}</span> {j.targetUrl}
              </td>
              <td class="wide">
                {Object.entries(j.metadata ?? {}).map(([k, v]) => (
                  <span class="tag" key={k}>
                    {k}={v}
                  </span>
                ))}
              </td>
              <td class="num">{j.attempts}</td>
              <td class="wide">{j.error ? <code>{j.error.code}</code> : '—'}</td>
              <td>{formatTime(j.createdAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
