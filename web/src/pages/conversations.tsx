/** Conversations: a searchable, filterable list of sessions, newest activity first. */
import { useEffect, useState } from 'react';
import { api } from '../api.ts';
import { Badge, Empty, ErrorNote, ScrollTable } from '../components.tsx';
import { ago } from '../format.ts';
import { navigate } from '../router.ts';
import type { Session, SessionPage } from '../types.ts';

/** How often the list is fetched again while it shows its first page. */
const REFRESH_MS = 5000;

/** The Conversations page. */
export function Conversations() {
  const [q, setQ] = useState('');
  const [channel, setChannel] = useState('');
  const [activeOnly, setActiveOnly] = useState(false);
  // The filter can come from a link (?status=needs_human), e.g. from the Overview's counts.
  const [status, setStatus] = useState(() => new URLSearchParams(window.location.search).get('status') ?? '');
  const [items, setItems] = useState<Session[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<unknown>();
  const [loading, setLoading] = useState(true);
  // Pages loaded with "more": a refresh of the first page would drop the others, so only a list
  // showing one page refreshes itself.
  const [pages, setPages] = useState(1);
  const [tick, setTick] = useState(0);

  const query = (after?: string) => {
    const p = new URLSearchParams({ limit: '50' });
    if (q.trim()) p.set('q', q.trim());
    if (channel) p.set('channel', channel);
    if (activeOnly) p.set('active', 'true');
    if (status) p.set('status', status);
    if (after) p.set('cursor', after);
    return `/sessions?${p}`;
  };

  // biome-ignore lint/correctness/useExhaustiveDependencies: reload when a filter changes
  useEffect(() => {
    let stopped = false;
    const t = setTimeout(async () => {
      setLoading(true);
      try {
        const page = await api<SessionPage>(query());
        if (stopped) return;
        setItems(page.items);
        setCursor(page.nextCursor);
        setPages(1);
        setError(undefined);
      } catch (e) {
        if (!stopped) setError(e);
      } finally {
        if (!stopped) setLoading(false);
      }
    }, 250);
    return () => {
      stopped = true;
      clearTimeout(t);
    };
  }, [q, channel, activeOnly, status]);

  // Live: new conversations and changed states (needs human, unanswered…) show up on their own.
  useEffect(() => {
    const timer = setInterval(() => setTick((n) => n + 1), REFRESH_MS);
    return () => clearInterval(timer);
  }, []);
  // biome-ignore lint/correctness/useExhaustiveDependencies: a tick refreshes with the current filters
  useEffect(() => {
    if (tick === 0 || pages > 1 || document.hidden) return;
    let stopped = false;
    api<SessionPage>(query())
      .then((page) => {
        if (stopped) return;
        setItems(page.items);
        setCursor(page.nextCursor);
        setError(undefined);
      })
      .catch((e) => {
        if (!stopped) setError(e);
      });
    return () => {
      stopped = true;
    };
  }, [tick]);

  const more = async () => {
    if (!cursor) return;
    try {
      const page = await api<SessionPage>(query(cursor));
      setItems((xs) => [...xs, ...page.items]);
      setCursor(page.nextCursor);
      setPages((n) => n + 1);
    } catch (e) {
      setError(e);
    }
  };

  return (
    <div>
      <div className="toolbar">
        <input
          type="search"
          placeholder="Search name, phone or chat id"
          value={q}
          onChange={(e) => setQ(e.target.value)}
          aria-label="search conversations"
          data-testid="search"
        />
        <select value={channel} onChange={(e) => setChannel(e.target.value)} aria-label="channel">
          <option value="">All channels</option>
          <option value="whatsapp">WhatsApp</option>
          <option value="telegram">Telegram</option>
        </select>
        <select
          value={status}
          onChange={(e) => {
            setStatus(e.target.value);
            const u = new URL(window.location.href);
            if (e.target.value) u.searchParams.set('status', e.target.value);
            else u.searchParams.delete('status');
            window.history.replaceState(null, '', u);
          }}
          aria-label="status"
          data-testid="status-filter"
        >
          <option value="">Any status</option>
          <option value="needs_human">Needs a human</option>
          <option value="unanswered">Has unanswered messages</option>
          <option value="failed">Has failed replies</option>
          <option value="paused">Paused</option>
          <option value="opted_out">Opted out</option>
        </select>
        <label>
          <input type="checkbox" checked={activeOnly} onChange={(e) => setActiveOnly(e.target.checked)} /> Active in the
          last 30 min
        </label>
      </div>
      {error !== undefined && <ErrorNote error={error} what="conversations" />}
      {!loading && !error && items.length === 0 && (
        <Empty>
          {q || channel || activeOnly || status
            ? 'No conversation matches these filters.'
            : 'No conversations yet. They appear here when someone writes to WADI on WhatsApp or Telegram (in the sandbox, use “Try it”).'}
        </Empty>
      )}
      {items.length > 0 && (
        <ScrollTable minWidth={560}>
          <table className="table table-click" data-testid="sessions-table">
            <thead>
              <tr>
                <th>Who</th>
                <th>Channel</th>
                <th>Last activity</th>
                <th className="num">In / out</th>
                <th>State</th>
              </tr>
            </thead>
            <tbody>
              {items.map((s) => (
                <tr key={s.id} onClick={() => navigate(`/ui/conversations/${s.id}`)} data-testid="session-row">
                  <td>
                    <a
                      href={`/admin/ui/conversations/${s.id}`}
                      onClick={(e) => {
                        e.preventDefault();
                        navigate(`/ui/conversations/${s.id}`);
                      }}
                    >
                      {s.displayName ?? s.chatId}
                    </a>
                    <div className="muted">{s.chatId}</div>
                  </td>
                  <td>{s.channel}</td>
                  <td>{ago(s.lastSeenAt)}</td>
                  <td className="num">
                    {s.messagesIn} / {s.messagesOut}
                  </td>
                  <td data-testid="session-state">
                    {s.state === 'needs_human' && <Badge status="fail">needs human</Badge>}
                    {s.state === 'paused' && <Badge status="warn">paused</Badge>}
                    {s.state === 'blocked' && <Badge status="fail">blocked</Badge>}
                    {s.optedOutAt && <Badge status="warn">opted out</Badge>}{' '}
                    {s.unanswered > 0 && <Badge status="warn">{s.unanswered} unanswered</Badge>}{' '}
                    {s.failed > 0 && <Badge status="fail">{s.failed} failed</Badge>}{' '}
                    {s.active && s.state === 'active' && <Badge status="pass">active</Badge>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </ScrollTable>
      )}
      {cursor && (
        <button type="button" onClick={more} data-testid="load-more">
          Load more
        </button>
      )}
    </div>
  );
}
