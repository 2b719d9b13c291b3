import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from './api.js';
import type { JobStatus } from './api-types.js';

/** An error for people: what happened (the API's message) and what to do next. */
export function ErrorBox({ error, next }: { error: unknown; next?: ComponentChildren }) {
  const e = error instanceof ApiError ? error : null;
  return (
    <div class="error" role="alert">
      <p>
        <strong>{e ? e.message : String((error as Error)?.message ?? error)}</strong>
        {e && e.code && !e.code.startsWith('HTTP_') && e.code !== 'NETWORK' ? <code class="code">{e.code}</code> : null}
      </p>
      {e?.details?.length ? (
        <ul>
          {e.details.map((d) => (
            <li key={d.path}>
              <code>{d.path}</code> {d.message}
            </li>
          ))}
        </ul>
      ) : null}
      {next ? <p>{next}</p> : null}
    </div>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <div class="empty">{children}</div>;
}

export function Loading({ what }: { what: string }) {
  return (
    <p class="loading" role="status">
      Loading {what}…
    </p>
  );
}

export function StatusBadge({ status }: { status: JobStatus | string }) {
  return <span class={`badge badge-${status}`}>{status.replace('_', ' ')}</span>;
}

export interface Async<T> {
  data: T | null;
  error: unknown;
  loading: boolean;
  reload(): void;
}

/** Runs `load` when `key` changes (and on reload), dropping answers of superseded runs. */
export function useAsync<T>(load: (signal: AbortSignal) => Promise<T>, key: string): Async<T> {
  const [state, setState] = useState<{ data: T | null; error: unknown; loading: boolean }>({
    data: null,
    error: null,
    loading: true,
  });
  const [tick, setTick] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  useEffect(() => {
    const controller = new AbortController();
    setState((s) => ({ ...s, loading: true, error: null }));
    loadRef.current(controller.signal).then(
      (data) => !controller.signal.aborted && setState({ data, error: null, loading: false }),
      (error) => !controller.signal.aborted && setState({ data: null, error, loading: false }),
    );
    return () => controller.abort();
  }, [key, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { ...state, reload };
}

/** A polite live region: screen readers announce what an action did. */
export function Notice({ message, kind = 'ok' }: { message: string | null; kind?: 'ok' | 'bad' }) {
  return (
    <p class={message ? `notice notice-${kind}` : 'notice-empty'} role="status" aria-live="polite">
      {message ?? ''}
    </p>
  );
}
