/**
 * Logs: this instance's recent records (already redacted), filtered on the server by level, text,
 * route and conversation, with the sandbox fakes' own requests hidden unless asked for; refreshing
 * live. The filters live in the address (?q=&route=&conversation=&level=&sandbox=1), so a
 * conversation can link to its lines and a filtered view can be shared.
 */
import { useEffect, useState } from 'react';
import { Empty, ErrorNote, ScrollTable } from '../components.tsx';
import { time } from '../format.ts';
import { usePolled } from '../hooks.ts';
import type { LogRecord, Logs as LogsAnswer } from '../types.ts';

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];
const SKIP = new Set(['level', 'time', 'msg', 'pid', 'hostname']);

function extra(r: LogRecord): string {
  const rest: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(r)) if (!SKIP.has(k)) rest[k] = v;
  return Object.keys(rest).length ? JSON.stringify(rest) : '';
}

interface Filters {
  q: string;
  level: string;
  route: string;
  conversation: string;
  sandbox: boolean;
}

function fromAddress(): Filters {
  const p = new URLSearchParams(window.location.search);
  const level = p.get('level') ?? 'info';
  return {
    q: p.get('q') ?? '',
    level: LEVELS.includes(level) ? level : 'info',
    route: p.get('route') ?? '',
    conversation: /^\d+$/.test(p.get('conversation') ?? '') ? (p.get('conversation') as string) : '',
    sandbox: p.get('sandbox') === '1',
  };
}

/** The filters as they go to the address bar (defaults left out). */
function toAddress(f: Filters): string {
  const p = new URLSearchParams();
  if (f.q.trim()) p.set('q', f.q.trim());
  if (f.level !== 'info') p.set('level', f.level);
  if (f.route) p.set('route', f.route);
  if (f.conversation) p.set('conversation', f.conversation);
  if (f.sandbox) p.set('sandbox', '1');
  const s = p.toString();
  return s ? `?${s}` : '';
}

/** The filters as the API takes them. */
function toQuery(f: Filters): string {
  const p = new URLSearchParams({ limit: '300', level: f.level });
  if (f.q.trim()) p.set('q', f.q.trim());
  if (f.route) p.set('route', f.route);
  if (f.conversation) p.set('conversation', f.conversation);
  if (f.sandbox) p.set('sandbox', 'true');
  return `/logs?${p}`;
}

/** Waits until typing pauses before the value is used (one request per pause, not per key). */
function useSettled<T>(value: T, ms: number): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return settled;
}

/** The Logs page. */
export function Logs() {
  const [f, setF] = useState<Filters>(fromAddress);
  const [live, setLive] = useState(true);
  const settled = useSettled(f, 300);
  const conversationOk = f.conversation === '' || /^[1-9]\d{0,15}$/.test(f.conversation);
  useEffect(() => {
    const next = `${window.location.pathname}${toAddress(settled)}`;
    if (next !== `${window.location.pathname}${window.location.search}`) window.history.replaceState(null, '', next);
  }, [settled]);
  const res = usePolled<LogsAnswer>(conversationOk ? toQuery(settled) : null, live ? 3000 : 0);
  const records = res.data ? [...res.data.records].reverse() : [];
  const set = (patch: Partial<Filters>) => setF((old) => ({ ...old, ...patch }));
  const routes = res.data?.routes ?? [];
  const narrowed = settled.q.trim() || settled.route || settled.conversation;
  return (
    <div>
      <div className="toolbar">
        <input
          type="search"
          placeholder="Search messages and fields…"
          aria-label="Search the logs"
          value={f.q}
          maxLength={200}
          onChange={(e) => set({ q: e.target.value })}
          data-testid="log-search"
        />
        <label>
          Minimum level{' '}
          <select value={f.level} onChange={(e) => set({ level: e.target.value })} data-testid="level">
            {LEVELS.map((l) => (
              <option key={l} value={l}>
                {l}
              </option>
            ))}
          </select>
        </label>
        <label>
          Route{' '}
          <select value={f.route} onChange={(e) => set({ route: e.target.value })} data-testid="log-route">
            <option value="">all</option>
            {[...new Set([...routes, ...(f.route ? [f.route] : [])])].sort().map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        </label>
        <label>
          Conversation{' '}
          <input
            type="text"
            inputMode="numeric"
            size={7}
            placeholder="id"
            aria-invalid={!conversationOk}
            value={f.conversation}
            onChange={(e) => set({ conversation: e.target.value.trim() })}
            data-testid="log-conversation"
          />
        </label>
        <label>
          <input
            type="checkbox"
            checked={f.sandbox}
            onChange={(e) => set({ sandbox: e.target.checked })}
            data-testid="log-sandbox"
          />{' '}
          Show sandbox calls
        </label>
        <label>
          <input type="checkbox" checked={live} onChange={(e) => setLive(e.target.checked)} data-testid="live" /> Live
          (every 3 s)
        </label>
        <button type="button" className="secondary" onClick={res.reload}>
          Refresh
        </button>
        {res.updatedAt && <span className="muted">updated {time(res.updatedAt.toISOString())}</span>}
      </div>
      {!conversationOk && (
        <div className="note note-error" role="alert" data-testid="log-conversation-error">
          A conversation id is a whole number, like 42 (it is in the conversation's address).
        </div>
      )}
      {res.error !== undefined && <ErrorNote error={res.error} what="logs" />}
      {res.data && res.data.hiddenSandbox > 0 && (
        <div className="muted" data-testid="log-sandbox-hidden">
          {res.data.hiddenSandbox} request{res.data.hiddenSandbox === 1 ? '' : 's'} to the sandbox's fake APIs hidden.{' '}
          <button type="button" className="link" onClick={() => set({ sandbox: true })}>
            Show them
          </button>
        </div>
      )}
      {res.data && records.length === 0 && (
        <Empty>
          No {settled.level} or more severe records{narrowed ? ' matching these filters' : ''} in this instance's last{' '}
          {res.data.capacity} lines.
        </Empty>
      )}
      {records.length > 0 && (
        <ScrollTable minWidth={560}>
          <table className="table logs" data-testid="logs-table">
            <thead>
              <tr>
                <th>Time</th>
                <th>Level</th>
                <th>Message</th>
              </tr>
            </thead>
            <tbody>
              {records.map((r, i) => (
                <tr
                  // biome-ignore lint/suspicious/noArrayIndexKey: records have no id; the list is replaced wholesale
                  key={i}
                  className={`lvl-${r.level}`}
                  data-testid="log-row"
                  data-level={r.level}
                  data-route={typeof r.route === 'string' ? r.route : undefined}
                  data-conversation={r.conversationId === undefined ? undefined : String(r.conversationId)}
                >
                  <td className="nowrap">{time(String(r.time))}</td>
                  <td>{r.level}</td>
                  <td>
                    {r.msg}
                    {typeof r.url === 'string' && (
                      <span className="mono log-url" data-testid="log-url">
                        {' '}
                        {String(r.method ?? '')} {r.url}
                      </span>
                    )}
                    <div className="muted mono">{extra(r)}</div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </ScrollTable>
      )}
    </div>
  );
}
