/** Conversations: a searchable, filterable list of sessions, newest activity first. */
import { useEffect, useState } from 'react';
import { api } from '../api.ts';
import { Badge, Empty, ErrorNote } from '../components.tsx';
import { ago } from '../format.ts';
import { navigate } from '../router.ts';
import type { Session, SessionPage } from '../types.ts';

/** The Conversations page. */
export function Conversations() {
  const [q, setQ] = useState('');
  const [channel, setChannel] = useState('');
  const [activeOnly, setActiveOnly] = useState(false);
  const [items, setItems] = useState<Session[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<unknown>();
  const [loading, setLoading] = useState(true);

  const query = (after?: string) => {
    const p = new URLSearchParams({ limit: '50' });
    if (q.trim()) p.set('q', q.trim());
    if (channel) p.set('channel', channel);
    if (activeOnly) p.set('active', 'true');
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
  }, [q, channel, activeOnly]);

  const more = async () => {
    if (!cursor) return;
    try {
      const page = await api<SessionPage>(query(cursor));
      setItems((xs) => [...xs, ...page.items]);
      setCursor(page.nextCursor);
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
        <label>
          <input type="checkbox" checked={activeOnly} onChange={(e) => setActiveOnly(e.target.checked)} /> Active in the
          last 30 min
        </label>
      </div>
      {error !== undefined && <ErrorNote error={error} what="conversations" />}
      {!loading && !error && items.length === 0 && (
        <Empty>
          {q || channel || activeOnly
            ? 'No conversation matches these filters.'
            : 'No conversations yet. They appear here when someone writes to WADI on WhatsApp or Telegram (in the sandbox, use “Try it”).'}
        </Empty>
      )}
      {items.length > 0 && (
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
                <td>
                  {s.active && <Badge status="pass">active</Badge>} {s.paused && <Badge status="warn">paused</Badge>}{' '}
                  {s.blocked && <Badge status="fail">blocked</Badge>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {cursor && (
        <button type="button" onClick={more} data-testid="load-more">
          Load more
        </button>
      )}
    </div>
  );
}
