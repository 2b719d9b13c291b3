import { useState } from 'preact/hooks';
import { api, ApiError } from '../api.js';
import type { Application, CreatedApplication, Quotas, RotatedSecret } from '../api-types.js';
import { formatTime } from '../format.js';
import { Empty, ErrorBox, Loading, Notice, useAsync } from '../ui.js';

type Secret = { title: string; values: [string, string][] };

/** Applications (master key): create, set limits, rotate the signing secret, revoke the key. */
export function Applications() {
  const list = useAsync((signal) => api<{ applications: Application[] }>('/api/applications', { signal }), 'apps');
  const [secret, setSecret] = useState<Secret | null>(null);
  const [notice, setNotice] = useState<{ message: string; kind: 'ok' | 'bad' } | null>(null);

  const report = (err: unknown) =>
    setNotice({ kind: 'bad', message: err instanceof ApiError ? `${err.message} (${err.code})` : String(err) });

  return (
    <section aria-labelledby="apps-title">
      <div class="page-head">
        <h1 id="apps-title">Applications</h1>
      </div>
      <CreateForm
        onCreated={(app) => {
          setSecret({
            title: `Created ${app.name}: copy these now, they are not shown again`,
            values: [
              ['API key', app.apiKey],
              ['Signing secret (callbacks)', app.signingSecret],
              ['Target signing secret', app.targetSigningSecret],
            ],
          });
          setNotice(null);
          list.reload();
        }}
      />
      {secret ? <SecretBox secret={secret} onDone={() => setSecret(null)} /> : null}
      <Notice message={notice?.message ?? null} kind={notice?.kind} />
      {list.loading && !list.data ? (
        <Loading what="applications" />
      ) : list.error ? (
        <ErrorBox error={list.error} next={<button onClick={list.reload}>Try again</button>} />
      ) : list.data && list.data.applications.length === 0 ? (
        <Empty>
          <p>No application yet. Create one above: its key is what a client sends to submit jobs.</p>
        </Empty>
      ) : (
        <ul class="apps">
          {list.data!.applications.map((app) => (
            <AppItem
              key={app.id}
              app={app}
              onChanged={(message) => {
                setNotice({ kind: 'ok', message });
                list.reload();
              }}
              onSecret={setSecret}
              onError={report}
            />
          ))}
        </ul>
      )}
    </section>
  );
}

function SecretBox({ secret, onDone }: { secret: Secret; onDone(): void }) {
  return (
    <section class="panel secret" role="alert" aria-labelledby="secret-title">
      <h2 id="secret-title">{secret.title}</h2>
      <dl class="kv">
        {secret.values.map(([label, value]) => (
          <>
            <dt key={`${label}-t`}>{label}</dt>
            <dd key={`${label}-d`}>
              <input
                type="text"
                readOnly
                value={value}
                aria-label={label}
                class="mono"
                onFocus={(e) => (e.target as HTMLInputElement).select()}
              />
            </dd>
          </>
        ))}
      </dl>
      <button type="button" onClick={onDone}>
        I have copied them
      </button>
    </section>
  );
}

function CreateForm({ onCreated }: { onCreated(app: CreatedApplication): void }) {
  const [name, setName] = useState('');
  const [signTargets, setSignTargets] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      onCreated(
        await api<CreatedApplication>('/api/applications', {
          method: 'POST',
          body: { name: name.trim(), signTargetRequests: signTargets },
        }),
      );
      setName('');
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="panel create" onSubmit={submit} aria-labelledby="create-title">
      <h2 id="create-title">New application</h2>
      <div class="fields">
        <div class="field">
          <label for="app-name">Name</label>
          <input
            id="app-name"
            type="text"
            required
            maxLength={100}
            value={name}
            onInput={(e) => setName((e.target as HTMLInputElement).value)}
          />
        </div>
        <label class="check">
          <input
            type="checkbox"
            checked={signTargets}
            onChange={(e) => setSignTargets((e.target as HTMLInputElement).checked)}
          />
          Sign target requests
        </label>
      </div>
      <button type="submit" disabled={busy}>
        Create application
      </button>
      {error ? <ErrorBox error={error} /> : null}
    </form>
  );
}

function numberOrNull(text: string): number | null {
  const t = text.trim();
  return t === '' ? null : Number(t);
}

function AppItem({
  app,
  onChanged,
  onSecret,
  onError,
}: {
  app: Application;
  onChanged(message: string): void;
  onSecret(secret: Secret): void;
  onError(err: unknown): void;
}) {
  const [open, setOpen] = useState(false);
  const [confirmRevoke, setConfirmRevoke] = useState(false);
  const [grace, setGrace] = useState('86400');
  const quotas: Quotas = app.quotas ?? { maxUnfinishedJobs: null, maxStoredBytes: null, maxPriority: null };
  const [limits, setLimits] = useState({
    rateMax: app.rateLimit ? String(app.rateLimit.max) : '',
    rateWindow: app.rateLimit ? String(app.rateLimit.windowMs) : '60000',
    maxUnfinished: quotas.maxUnfinishedJobs === null ? '' : String(quotas.maxUnfinishedJobs),
    maxBytes: quotas.maxStoredBytes === null ? '' : String(quotas.maxStoredBytes),
    maxPriority: quotas.maxPriority ?? '',
  });
  const revoked = Boolean(app.revokedAt);
  const id = (n: string) => `${app.id}-${n}`;

  const saveLimits = async (event: Event) => {
    event.preventDefault();
    const rateMax = numberOrNull(limits.rateMax);
    try {
      await api(`/api/applications/${app.id}`, {
        method: 'PATCH',
        body: {
          rateLimit: rateMax === null ? null : { max: rateMax, windowMs: Number(limits.rateWindow) },
          quotas: {
            maxUnfinishedJobs: numberOrNull(limits.maxUnfinished),
            maxStoredBytes: numberOrNull(limits.maxBytes),
            maxPriority: limits.maxPriority === '' ? null : limits.maxPriority,
          },
        },
      });
      onChanged(`Limits of ${app.name} saved.`);
    } catch (err) {
      onError(err);
    }
  };

  const rotate = async () => {
    try {
      const r = await api<RotatedSecret>(`/api/applications/${app.id}/signing-secret`, {
        method: 'POST',
        body: { graceSeconds: Number(grace) },
      });
      onSecret({
        title: `New signing secret of ${app.name}: copy it now, it is not shown again`,
        values: [
          ['Signing secret (callbacks)', r.signingSecret],
          ['Target signing secret', r.targetSigningSecret],
        ],
      });
      onChanged(`Signing secret of ${app.name} rotated; the previous one signs for ${grace} more seconds.`);
    } catch (err) {
      onError(err);
    }
  };

  const revoke = async () => {
    setConfirmRevoke(false);
    try {
      await api(`/api/applications/${app.id}`, { method: 'DELETE' });
      onChanged(`The key of ${app.name} is revoked: its next request gets 401.`);
    } catch (err) {
      onError(err);
    }
  };

  const set = (patch: Partial<typeof limits>) => setLimits((l) => ({ ...l, ...patch }));
  return (
    <li class="panel app">
      <div class="app-head">
        <h2>
          {app.name} <code>{app.id}</code>
        </h2>
        {revoked ? (
          <span class="badge badge-failed">revoked {formatTime(app.revokedAt)}</span>
        ) : (
          <span class="badge badge-completed">active</span>
        )}
        <button
          type="button"
          class="secondary"
          aria-expanded={open}
          aria-controls={id('panel')}
          onClick={() => setOpen(!open)}
        >
          {open ? 'Close' : 'Manage'}
        </button>
      </div>
      <p class="hint">
        Created {formatTime(app.createdAt)} · rate limit{' '}
        {app.rateLimit ? `${app.rateLimit.max} per ${app.rateLimit.windowMs / 1000} s` : 'server default'}
      </p>
      {open ? (
        <div id={id('panel')}>
          <form onSubmit={saveLimits} aria-label={`Limits of ${app.name}`}>
            <h3>Limits</h3>
            <p class="hint">Empty: the server default.</p>
            <div class="fields">
              <div class="field">
                <label for={id('rate')}>Requests per window</label>
                <input
                  id={id('rate')}
                  type="number"
                  min={1}
                  value={limits.rateMax}
                  onInput={(e) => set({ rateMax: (e.target as HTMLInputElement).value })}
                />
              </div>
              <div class="field">
                <label for={id('window')}>Window (ms)</label>
                <input
                  id={id('window')}
                  type="number"
                  min={1000}
                  value={limits.rateWindow}
                  onInput={(e) => set({ rateWindow: (e.target as HTMLInputElement).value })}
                />
              </div>
              <div class="field">
                <label for={id('unfinished')}>Max unfinished jobs</label>
                <input
                  id={id('unfinished')}
                  type="number"
                  min={1}
                  value={limits.maxUnfinished}
                  onInput={(e) => set({ maxUnfinished: (e.target as HTMLInputElement).value })}
                />
              </div>
              <div class="field">
                <label for={id('bytes')}>Max stored bytes</label>
                <input
                  id={id('bytes')}
                  type="number"
                  min={1}
                  value={limits.maxBytes}
                  onInput={(e) => set({ maxBytes: (e.target as HTMLInputElement).value })}
                />
              </div>
              <div class="field">
                <label for={id('priority')}>Highest priority</label>
                <select
                  id={id('priority')}
                  value={limits.maxPriority}
                  onChange={(e) => set({ maxPriority: (e.target as HTMLSelectElement).value })}
                >
                  <option value="">server default</option>
                  <option value="low">low</option>
                  <option value="normal">normal</option>
                  <option value="high">high</option>
                </select>
              </div>
            </div>
            <button type="submit">Save limits</button>
          </form>
          <div class="rotate">
            <h3>Signing secret</h3>
            <div class="fields">
              <div class="field">
                <label for={id('grace')}>Old secret keeps signing for (seconds)</label>
                <input
                  id={id('grace')}
                  type="number"
                  min={0}
                  max={2592000}
                  value={grace}
                  onInput={(e) => setGrace((e.target as HTMLInputElement).value)}
                />
              </div>
            </div>
            <button type="button" onClick={() => void rotate()}>
              Rotate signing secret
            </button>
          </div>
          {!revoked ? (
            <div class="revoke">
              <h3>Key</h3>
              {!confirmRevoke ? (
                <button type="button" class="danger" onClick={() => setConfirmRevoke(true)}>
                  Revoke key…
                </button>
              ) : (
                <span class="confirm" role="group" aria-label="Confirm revoke">
                  Revoke the key of {app.name}? Its clients are refused at once; this cannot be undone.{' '}
                  <button type="button" class="danger" onClick={() => void revoke()} autoFocus>
                    Yes, revoke
                  </button>{' '}
                  <button type="button" class="secondary" onClick={() => setConfirmRevoke(false)}>
                    Keep it
                  </button>
                </span>
              )}
            </div>
          ) : null}
        </div>
      ) : null}
    </li>
  );
}
