import { useState } from 'preact/hooks';
import { api } from '../api.js';
import type { Application, Quotas, RotatedSecret } from '../api-types.js';
import { formatTime } from '../format.js';

/** A secret shown once, with its label. */
export type Secret = { title: string; values: [string, string][] };

function numberOrNull(text: string): number | null {
  const t = text.trim();
  return t === '' ? null : Number(t);
}

/** One application of the list: its limits, its signing-secret rotation and its key revocation. */
export function AppItem({
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
