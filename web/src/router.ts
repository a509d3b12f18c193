/** A tiny client router over the History API; client routes live under /admin/ui/. */
import { useEffect, useState } from 'react';

const BASE = '/admin';

/** The current path below /admin (e.g. `/ui/logs`). */
function current(): string {
  const p = window.location.pathname;
  return p.startsWith(BASE) ? p.slice(BASE.length) || '/' : '/';
}

/** Goes to a client route, e.g. `navigate('/ui/logs')`. */
export function navigate(path: string): void {
  window.history.pushState(null, '', `${BASE}${path}`);
  window.dispatchEvent(new PopStateEvent('popstate'));
}

/** The current route, re-rendering on navigation. */
export function useRoute(): string {
  const [path, setPath] = useState(current);
  useEffect(() => {
    const on = () => setPath(current());
    window.addEventListener('popstate', on);
    return () => window.removeEventListener('popstate', on);
  }, []);
  return path;
}
