/** Logs: this instance's recent records (already redacted), filtered by level, refreshing live. */
import { useState } from 'react';
import { Empty, ErrorNote } from '../components.tsx';
import { time } from '../format.ts';
import { usePolled } from '../hooks.ts';
import type { LogRecord } from '../types.ts';

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];
const SKIP = new Set(['level', 'time', 'msg', 'pid', 'hostname']);

function extra(r: LogRecord): string {
  const rest: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(r)) if (!SKIP.has(k)) rest[k] = v;
  return Object.keys(rest).length ? JSON.stringify(rest) : '';
}

/** The Logs page. */
export function Logs() {
  const [level, setLevel] = useState('info');
  const [live, setLive] = useState(true);
  const res = usePolled<{ records: LogRecord[]; capacity: number }>(`/logs?limit=300&level=${level}`, live ? 3000 : 0);
  const records = res.data ? [...res.data.records].reverse() : [];
  return (
    <div>
      <div className="toolbar">
        <label>
          Minimum level{' '}
          <select value={level} onChange={(e) => setLevel(e.target.value)} data-testid="level">
            {LEVELS.map((l) => (
              <option key={l} value={l}>
                {l}
              </option>
            ))}
          </select>
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
      {res.error !== undefined && <ErrorNote error={res.error} what="logs" />}
      {res.data && records.length === 0 && (
        <Empty>
          No {level} or more severe records in this instance's last {res.data.capacity} lines.
        </Empty>
      )}
      {records.length > 0 && (
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
              // biome-ignore lint/suspicious/noArrayIndexKey: records have no id; the list is replaced wholesale
              <tr key={i} className={`lvl-${r.level}`} data-testid="log-row" data-level={r.level}>
                <td className="nowrap">{time(String(r.time))}</td>
                <td>{r.level}</td>
                <td>
                  {r.msg}
                  <div className="muted mono">{extra(r)}</div>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
