import { useEffect, useMemo, useState } from 'preact/hooks';
import { api, type ApiError } from '../api.js';
import type { Application, Snapshot } from '../api-types.js';
import { Chart } from '../components/chart.js';
import { formatCount, formatMs, formatRate, formatTime } from '../format.js';
import type { Role } from '../session.js';
import { followStream } from '../stream.js';
import { appendPoint, MAX_POINTS } from '../points.js';
import { Empty, ErrorBox, Loading } from '../ui.js';

function columns(points: Snapshot[], pick: ((p: Snapshot) => number | null)[]): (number | null)[][] {
  return [points.map((p) => Date.parse(p.at) / 1000), ...pick.map((f) => points.map(f))];
}

export function Overview({ role }: { role: Role }) {
  const [points, setPoints] = useState<Snapshot[]>([]);
  const [error, setError] = useState<ApiError | null>(null);
  const [connected, setConnected] = useState(false);

  useEffect(() => {
    const controller = new AbortController();
    void followStream(controller.signal, {
      history: (h) => setPoints(h.slice(-MAX_POINTS)),
      snapshot: (p) => setPoints((prev) => appendPoint(prev, p)),
      status: (e) => {
        setError(e);
        setConnected(e === null);
      },
    });
    return () => controller.abort();
  }, []);

  // The stream names applications by id; the master key (and keys off) may
  // list them, so the top list shows names too. Without the list (an error),
  // ids alone still say which application it is.
  const [names, setNames] = useState<Record<string, string>>({});
  useEffect(() => {
    if (role === 'application') return;
    const controller = new AbortController();
    api<{ applications: Application[] }>('/api/applications', { signal: controller.signal }).then(
      (r) => setNames(Object.fromEntries(r.applications.map((a) => [a.id, a.name]))),
      () => undefined,
    );
    return () => controller.abort();
  }, [role]);

  const rates = useMemo(
    () =>
      columns(points, [
        (p) => p.rates.accepted,
        (p) => p.rates.completed,
        (p) => p.rates.failed,
        (p) => p.rates.retried,
      ]),
    [points],
  );
  const latency = useMemo(
    () => columns(points, [(p) => p.latencyMs.p50, (p) => p.latencyMs.p90, (p) => p.latencyMs.p99]),
    [points],
  );
  const queues = useMemo(
    () => columns(points, [(p) => p.queues.work, (p) => p.queues.delayed, (p) => p.queues.deadLetters]),
    [points],
  );

  const now = points[points.length - 1];
  return (
    <section aria-labelledby="overview-title">
      <div class="page-head">
        <h1 id="overview-title">Overview</h1>
        <p class="live" role="status" aria-live="off">
          <span class={connected ? 'dot dot-on' : 'dot'} aria-hidden="true" />
          {connected ? `Live · updated ${now ? formatTime(now.at) : '…'}` : 'Not connected'}
        </p>
      </div>
      {role === 'master' ? <p class="hint">The master key sees every application together.</p> : null}
      {error && !connected ? (
        <ErrorBox
          error={error}
          next={
            error.status === 404 || error.status === 503
              ? 'This backend does not serve the live stream yet; check that it runs the same version as the console.'
              : 'The page reconnects by itself; if it does not, check that the backend is running.'
          }
        />
      ) : null}
      {!now ? (
        error ? null : (
          <Loading what="live figures" />
        )
      ) : (
        <>
          <dl class="totals" aria-label="Totals since the counters began">
            {(
              [
                ['Accepted', now.totals.accepted],
                ['Completed', now.totals.completed],
                ['Failed', now.totals.failed],
                ['Retried', now.totals.retried],
                ['Cancelled', now.totals.cancelled],
                ['Dead-lettered', now.totals.deadLettered],
              ] as const
            ).map(([label, value]) => (
              <div key={label} class="stat" data-stat={label.toLowerCase()}>
                <dt>{label}</dt>
                <dd>{formatCount(value)}</dd>
              </div>
            ))}
          </dl>
          <div class="grid">
            <div class="panel">
              <Chart
                title="Jobs per second"
                unit="/s"
                data={rates}
                series={[
                  { label: 'accepted', stroke: '#2563eb' },
                  { label: 'completed', stroke: '#16a34a' },
                  { label: 'failed', stroke: '#dc2626', dash: [6, 3] },
                  { label: 'retried', stroke: '#d97706', dash: [2, 3] },
                ]}
              />
              <p class="now">
                Now: {formatRate(now.rates.accepted)} accepted/s, {formatRate(now.rates.completed)} completed/s,{' '}
                {formatRate(now.rates.failed)} failed/s, {formatRate(now.rates.retried)} retried/s
              </p>
            </div>
            <div class="panel">
              <Chart
                title="Latency, submit to result (last 60 s)"
                unit="ms"
                data={latency}
                series={[
                  { label: 'p50', stroke: '#16a34a' },
                  { label: 'p90', stroke: '#d97706', dash: [6, 3] },
                  { label: 'p99', stroke: '#dc2626', dash: [2, 3] },
                ]}
              />
              <p class="now">
                Now: p50 {formatMs(now.latencyMs.p50)}, p90 {formatMs(now.latencyMs.p90)}, p99{' '}
                {formatMs(now.latencyMs.p99)}
              </p>
            </div>
            <div class="panel">
              <Chart
                title="Queue depth (messages ready)"
                unit=""
                data={queues}
                series={[
                  { label: 'work', stroke: '#2563eb' },
                  { label: 'delayed', stroke: '#d97706', dash: [6, 3] },
                  { label: 'dead letters', stroke: '#dc2626', dash: [2, 3] },
                ]}
              />
              <p class="now">
                Now: {formatCount(now.queues.work)} waiting, {formatCount(now.queues.delayed)} delayed,{' '}
                {formatCount(now.queues.deadLetters)} dead letters
              </p>
            </div>
          </div>
          <Workers workers={now.workers} />
          <div class="grid grid-2">
            <TopList
              title="Applications (last 5 min)"
              empty="No application submitted jobs in the last 5 minutes."
              head={['Application', 'Accepted', 'Failed']}
              rows={now.top.applications.map((a) => [
                names[a.id] ? `${names[a.id]} (${a.id})` : a.id,
                a.accepted,
                a.failed,
              ])}
            />
            <TopList
              title="Destinations (last minute)"
              empty="No attempt reached a destination in the last minute."
              head={['Host', 'Completed', 'Failed']}
              rows={now.top.destinations.map((d) => [d.host, d.completed, d.failed])}
            />
          </div>
        </>
      )}
    </section>
  );
}

function Workers({ workers }: { workers: Snapshot['workers'] }) {
  return (
    <section class="panel" aria-labelledby="workers-title">
      <h2 id="workers-title">Workers online ({workers.length})</h2>
      {workers.length === 0 ? (
        <Empty>
          <p>
            No worker is online: accepted jobs wait in the queue. Start one with <code>pnpm start:worker</code>.
          </p>
        </Empty>
      ) : (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Worker</th>
                <th scope="col">Host / pid</th>
                <th scope="col">In flight</th>
                <th scope="col">State</th>
                <th scope="col">Last seen</th>
              </tr>
            </thead>
            <tbody>
              {workers.map((w) => (
                <tr key={w.id}>
                  <td>
                    <code>{w.id}</code>
                  </td>
                  <td>
                    {w.host} / {w.pid}
                  </td>
                  <td class="num">{w.inFlight}</td>
                  <td>
                    <span class={`badge badge-${w.state}`}>{w.state}</span>
                  </td>
                  <td>{formatTime(w.lastSeenAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function TopList({
  title,
  head,
  rows,
  empty,
}: {
  title: string;
  head: [string, string, string];
  rows: [string, number, number][];
  empty: string;
}) {
  return (
    <section class="panel">
      <h2>{title}</h2>
      {rows.length === 0 ? (
        <Empty>
          <p>{empty}</p>
        </Empty>
      ) : (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                {head.map((h) => (
                  <th scope="col" key={h}>
                    {h}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {rows.map(([name, a, b]) => (
                <tr key={name}>
                  <td>{name}</td>
                  <td class="num">{formatCount(a)}</td>
                  <td class="num">{formatCount(b)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
