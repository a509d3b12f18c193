/** Alerts: what is firing now and the recent history. */
import { Badge, Card, Empty, ErrorNote } from '../components.tsx';
import { ago, time } from '../format.ts';
import { usePolled } from '../hooks.ts';
import type { Alert, Alerts as AlertsData } from '../types.ts';

function AlertTable({ alerts }: { alerts: Alert[] }) {
  return (
    <table className="table">
      <thead>
        <tr>
          <th>Alert</th>
          <th>State</th>
          <th>Value / threshold</th>
          <th>Started</th>
          <th>Resolved</th>
        </tr>
      </thead>
      <tbody>
        {alerts.map((a) => (
          <tr key={`${a.alert}-${a.startedAt}`}>
            <td>
              <strong>{a.alert}</strong>
              {a.summary && <div className="muted">{a.summary}</div>}
              {a.runbook && <div className="muted">runbook: {a.runbook}</div>}
            </td>
            <td>
              <Badge status={a.state === 'firing' ? 'fail' : a.state === 'pending' ? 'warn' : 'pass'}>{a.state}</Badge>
            </td>
            <td>
              {a.value ?? '—'} / {a.threshold ?? '—'}
            </td>
            <td title={a.startedAt}>{ago(a.startedAt)}</td>
            <td>{a.resolvedAt ? time(a.resolvedAt) : '—'}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** The Alerts page. */
export function Alerts() {
  const res = usePolled<AlertsData>('/alerts?limit=100', 10_000);
  if (res.error !== undefined) return <ErrorNote error={res.error} what="alerts" />;
  if (!res.data) return <p>Loading…</p>;
  return (
    <div className="grid">
      <Card title="Firing now" wide>
        {res.data.firing.length === 0 ? <Empty>No alert is firing.</Empty> : <AlertTable alerts={res.data.firing} />}
      </Card>
      <Card title="History" wide>
        {res.data.recent.length === 0 ? (
          <Empty>No alert has fired yet.</Empty>
        ) : (
          <AlertTable alerts={res.data.recent} />
        )}
      </Card>
    </div>
  );
}
