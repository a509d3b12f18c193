/** The dashboard shell: login gate, navigation, and the page for the current route. */
import { useEffect, useState } from 'react';
import { api, onConnection, onUnauthorized, storedKey, storeKey } from './api.ts';
import { time } from './format.ts';
import { Login } from './login.tsx';
import { Alerts } from './pages/alerts.tsx';
import { Conversation } from './pages/conversation.tsx';
import { Conversations } from './pages/conversations.tsx';
import { Failures } from './pages/failures.tsx';
import { Logs } from './pages/logs.tsx';
import { Overview } from './pages/overview.tsx';
import { TryIt } from './pages/try-it.tsx';
import { navigate, useRoute } from './router.ts';
import type { Info } from './types.ts';

const PAGES = [
  { path: '/', label: 'Overview' },
  { path: '/ui/conversations', label: 'Conversations' },
  { path: '/ui/failures', label: 'Failures' },
  { path: '/ui/logs', label: 'Logs' },
  { path: '/ui/alerts', label: 'Alerts' },
  { path: '/ui/try', label: 'Try it', sandboxOnly: true },
];

function Page({ route, info }: { route: string; info?: Info }) {
  const conv = /^\/ui\/conversations\/(\d+)$/.exec(route);
  if (conv) return <Conversation id={Number(conv[1])} />;
  switch (route) {
    case '/ui/conversations':
      return <Conversations />;
    case '/ui/failures':
      return <Failures />;
    case '/ui/logs':
      return <Logs />;
    case '/ui/alerts':
      return <Alerts />;
    case '/ui/try':
      return info?.sandbox === false ? (
        <div className="note note-empty">“Try it” is only available in sandbox mode.</div>
      ) : (
        <TryIt />
      );
    default:
      return <Overview />;
  }
}

/** The whole dashboard. */
export function App() {
  const [loggedIn, setLoggedIn] = useState(() => storedKey() !== null);
  const [reason, setReason] = useState<string>();
  const [info, setInfo] = useState<Info>();
  const [lostSince, setLostSince] = useState<Date | null>(null);
  const route = useRoute();

  useEffect(() => onConnection(setLostSince), []);

  useEffect(
    () =>
      onUnauthorized(() => {
        storeKey(null);
        setReason('The admin key stopped working (it may have been rotated). Enter a current key.');
        setLoggedIn(false);
      }),
    [],
  );

  useEffect(() => {
    if (loggedIn) api<Info>('/info').then(setInfo, () => {});
  }, [loggedIn]);

  if (!loggedIn) {
    document.title = 'Log in · WADI';
    return (
      <Login
        reason={reason}
        onLogin={() => {
          setReason(undefined);
          setLoggedIn(true);
        }}
      />
    );
  }

  const current = route.startsWith('/ui/conversations') ? '/ui/conversations' : route.startsWith('/ui/') ? route : '/';
  const title = PAGES.find((p) => p.path === current)?.label ?? 'Overview';
  // The tab names the page (and which conversation), so several open tabs can be told apart.
  const conv = /^\/ui\/conversations\/(\d+)$/.exec(route);
  document.title = `${conv ? `Conversation #${conv[1]}` : title} · WADI`;
  return (
    <div className="shell">
      <header className="top">
        <strong className="brand">WADI</strong>
        <nav>
          {PAGES.filter((p) => !p.sandboxOnly || info?.sandbox).map((p) => (
            <a
              key={p.path}
              href={`/admin${p.path === '/' ? '' : p.path}`}
              className={p.path === current ? 'active' : ''}
              onClick={(e) => {
                e.preventDefault();
                navigate(p.path === '/' ? '' : p.path);
              }}
            >
              {p.label}
            </a>
          ))}
        </nav>
        <span className="spacer" />
        {info?.sandbox && <span className="badge badge-warn">sandbox</span>}
        <button
          type="button"
          className="secondary"
          onClick={() => {
            storeKey(null);
            setLoggedIn(false);
          }}
        >
          Log out
        </button>
      </header>
      {lostSince && (
        <div className="banner-lost" role="alert" data-testid="connection-lost">
          Connection to WADI lost since {time(lostSince.toISOString())}: what you see below may be out of date.
        </div>
      )}
      <main className={lostSince ? 'content stale' : 'content'}>
        <h1>{title}</h1>
        <Page route={route} info={info} />
      </main>
    </div>
  );
}
