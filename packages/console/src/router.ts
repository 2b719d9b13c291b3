import { useEffect, useState } from 'preact/hooks';

/**
 * Deep links without a hash: every page has a path under /console (the backend
 * answers index.html for any of them), and a filter lives in the query string,
 * so a URL can be bookmarked or pasted to a colleague.
 */
export const BASE = '/console';

export interface Location {
  /** The path below /console, starting with `/` (`/jobs/<id>`). */
  path: string;
  query: URLSearchParams;
}

function current(): Location {
  let path = window.location.pathname;
  if (path.startsWith(BASE)) path = path.slice(BASE.length);
  if (!path.startsWith('/')) path = '/' + path;
  if (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1);
  return { path, query: new URLSearchParams(window.location.search) };
}

const listeners = new Set<() => void>();

/** Goes to `to` (a path below /console, with its query), adding a history entry unless `replace`. */
export function navigate(to: string, replace = false): void {
  const url = BASE + to;
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  for (const l of listeners) l();
  if (!replace) window.scrollTo(0, 0);
}

export function useLocation(): Location {
  const [loc, setLoc] = useState(current);
  useEffect(() => {
    const update = () => setLoc(current());
    listeners.add(update);
    window.addEventListener('popstate', update);
    return () => {
      listeners.delete(update);
      window.removeEventListener('popstate', update);
    };
  }, []);
  return loc;
}

/** Click handler for in-app links: a plain click navigates in place; modified clicks (new tab) keep the browser's way. */
export function onLinkClick(event: MouseEvent): void {
  const anchor = (event.target as Element).closest('a');
  if (!anchor || event.defaultPrevented || event.button !== 0) return;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const href = anchor.getAttribute('href');
  if (!href || !href.startsWith(BASE) || anchor.target) return;
  event.preventDefault();
  navigate(href.slice(BASE.length) || '/');
}
