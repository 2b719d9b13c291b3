import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, setApiKey, setUnauthorizedHandler } from './api.js';
import { clearSession, loadSession, saveSession, type Role, type Session } from './session.js';
import { navigate, onLinkClick, useLocation, BASE } from './router.js';
import { SignIn } from './pages/sign-in.js';
import { Overview } from './pages/overview.js';
import { JobExplorer } from './pages/jobs.js';
import { JobPage } from './pages/job.js';
import { DeadLetters } from './pages/dead-letters.js';
import { Applications } from './pages/applications.js';
import { Empty, Loading } from './ui.js';

interface NavItem {
  path: string;
  label: string;
  roles: Role[];
}

const NAV: NavItem[] = [
  { path: '/', label: 'Overview', roles: ['open', 'master', 'application'] },
  { path: '/jobs', label: 'Jobs', roles: ['open', 'application'] },
  { path: '/dead-letters', label: 'Dead letters', roles: ['open', 'application'] },
  { path: '/applications', label: 'Applications', roles: ['open', 'master'] },
];

const ROLE_LABEL: Record<Role, string> = {
  open: 'keys off (local)',
  master: 'master key',
  application: 'application key',
};

/** Remembers, for the tab, that the backend wants a key. */
const KEYS_ON = 'relay.console.keys-on';

/**
 * Without a stored session, one keyless request tells whether the backend runs
 * with RELAY_AUTH=off (then no sign-in is needed) or wants a key. Its 401 counts
 * against the backend's per-address limit of keyless requests
 * (STRANGER_LIMIT_MAX), so the answer is kept for the tab: reloading the
 * sign-in page does not ask again.
 */
async function detectOpen(): Promise<boolean> {
  if (sessionStorage.getItem(KEYS_ON)) return false;
  try {
    await api('/api/metrics', { key: null });
    return true;
  } catch (err) {
    // Only a 401 says so; a backend that is down now may run keys-off when it is back.
    if (err instanceof ApiError && err.status === 401) sessionStorage.setItem(KEYS_ON, '1');
    return false;
  }
}

export function App() {
  const [session, setSession] = useState<Session | null | undefined>(() => {
    const s = loadSession();
    if (s) setApiKey(s.key);
    return s ?? undefined;
  });
  const loc = useLocation();

  useEffect(() => {
    if (session !== undefined) return;
    void detectOpen().then((open) => setSession(open ? { key: null, role: 'open' } : null));
  }, [session]);

  useEffect(() => {
    // A key revoked while signed in: back to sign-in, with nothing kept.
    setUnauthorizedHandler(() => {
      clearSession();
      setApiKey(null);
      setSession(null);
    });
    return () => setUnauthorizedHandler(null);
  }, []);

  useEffect(() => {
    document.addEventListener('click', onLinkClick);
    return () => document.removeEventListener('click', onLinkClick);
  }, []);

  if (session === undefined) {
    return (
      <main id="main" class="page">
        <Loading what="the console" />
      </main>
    );
  }

  if (session === null) {
    return (
      <SignIn
        onSignedIn={(s) => {
          saveSession(s);
          setApiKey(s.key);
          setSession(s);
        }}
      />
    );
  }

  const signOut = () => {
    clearSession();
    setApiKey(null);
    setSession(null);
    navigate('/', true);
  };

  const items = NAV.filter((n) => n.roles.includes(session.role));
  const section = '/' + (loc.path.split('/')[1] ?? '');
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href={`${BASE}/`}>
          relay
        </a>
        <nav aria-label="Console sections">
          <ul>
            {items.map((n) => (
              <li key={n.path}>
                <a href={BASE + n.path} aria-current={section === n.path ? 'page' : undefined}>
                  {n.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div class="who">
          <span>{ROLE_LABEL[session.role]}</span>
          {session.role !== 'open' ? (
            <button type="button" class="link" onClick={signOut}>
              Sign out
            </button>
          ) : null}
        </div>
      </header>
      <main id="main" class="page" tabIndex={-1}>
        <Route path={loc.path} query={loc.query} role={session.role} />
      </main>
    </>
  );
}

function Route({ path, query, role }: { path: string; query: URLSearchParams; role: Role }) {
  const jobs = role !== 'master';
  const admin = role !== 'application';
  if (path === '/') return <Overview role={role} />;
  if (path === '/jobs' && jobs) return <JobExplorer query={query} />;
  const job = /^\/jobs\/([^/]+)$/.exec(path);
  if (job && jobs) return <JobPage jobId={decodeURIComponent(job[1]!)} />;
  if (path === '/dead-letters' && jobs) return <DeadLetters query={query} />;
  if (path === '/applications' && admin) return <Applications />;
  if (['/jobs', '/dead-letters'].includes(path) || job) {
    return (
      <Empty>
        <h1>Jobs need an application key</h1>
        <p>The master key manages applications. Sign out and sign in with an application's key to see its jobs.</p>
      </Empty>
    );
  }
  if (path === '/applications') {
    return (
      <Empty>
        <h1>Applications need the master key</h1>
        <p>Sign out and sign in with the master key (RELAY_MASTER_KEY) to manage applications.</p>
      </Empty>
    );
  }
  return (
    <Empty>
      <h1>No such page</h1>
      <p>
        Go to the <a href={`${BASE}/`}>overview</a>.
      </p>
    </Empty>
  );
}
