import { useState } from 'preact/hooks';
import { api, ApiError } from '../api.js';
import { APPLICATION_KEY_PREFIX, type Session } from '../session.js';
import { ErrorBox } from '../ui.js';

/**
 * Checks a key with GET /api/metrics, which takes either kind of key (401: not
 * a valid key, with the API's message saying why). Which kind it is follows
 * from its form: application keys are issued as `rk_…`, the master key is the
 * operator's own string. Asking a master-only route instead would answer 403 to
 * every application key, which the browser logs as a failed request.
 */
async function roleOf(key: string): Promise<Session> {
  await api('/api/metrics', { key });
  return { key, role: key.startsWith(APPLICATION_KEY_PREFIX) ? 'application' : 'master' };
}

export function SignIn({ onSignedIn }: { onSignedIn(session: Session): void }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    const trimmed = key.trim();
    if (!trimmed) {
      setError(new ApiError(0, '', 'Enter an API key: an application key (rk_…) or the master key.'));
      return;
    }
    setBusy(true);
    setError(null);
    try {
      onSignedIn(await roleOf(trimmed));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <main id="main" class="page signin">
      <h1>Sign in to relay</h1>
      <p>
        Enter an application key to see that application's jobs, or the master key to manage applications. The key stays
        in this tab's session storage and is sent only in request headers.
      </p>
      <form onSubmit={submit} autocomplete="off">
        <label for="api-key">API key</label>
        <input
          id="api-key"
          name="api-key"
          type="password"
          autocomplete="off"
          spellcheck={false}
          value={key}
          onInput={(e) => setKey((e.target as HTMLInputElement).value)}
          aria-describedby={error ? 'signin-error' : undefined}
          aria-invalid={error ? true : undefined}
          autoFocus
        />
        <button type="submit" disabled={busy}>
          {busy ? 'Checking…' : 'Sign in'}
        </button>
      </form>
      {error ? (
        <div id="signin-error">
          <ErrorBox
            error={error}
            next={
              error instanceof ApiError && error.status === 401
                ? 'Check the key (copy it again from the answer that created the application), or ask an operator for a new one.'
                : error instanceof ApiError && error.status === 429
                  ? 'Too many attempts without a valid key from this address; wait a minute, then try again.'
                  : null
            }
          />
        </div>
      ) : null}
    </main>
  );
}
