import { useState } from 'preact/hooks';
import { api, ApiError } from '../api.js';
import type { Application, CreatedApplication } from '../api-types.js';
import { AppItem, type Secret } from '../components/application-item.js';
import { Empty, ErrorBox, Loading, Notice, useAsync } from '../ui.js';


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
