/**
 * The signed-in key. Kept in sessionStorage only (issue 15): it dies with the
 * tab, is never put in a URL (so never in history, logs or a Referer), and is
 * sent only in the Authorization header.
 */
const KEY = 'relay.console.key';

/** What the key may do: `open` when the backend runs with RELAY_AUTH=off (no key at all). */
export type Role = 'open' | 'master' | 'application';

export interface Session {
  key: string | null;
  role: Role;
}

const ROLE = 'relay.console.role';

/** How application keys begin (packages/common's application store issues them so). */
export const APPLICATION_KEY_PREFIX = 'rk_';

export function loadSession(): Session | null {
  const role = sessionStorage.getItem(ROLE) as Role | null;
  if (!role) return null;
  return { key: sessionStorage.getItem(KEY), role };
}

export function saveSession(session: Session): void {
  if (session.key) sessionStorage.setItem(KEY, session.key);
  else sessionStorage.removeItem(KEY);
  sessionStorage.setItem(ROLE, session.role);
}

export function clearSession(): void {
  sessionStorage.removeItem(KEY);
  sessionStorage.removeItem(ROLE);
}
