/**
 * Alerts: a warning when alerts reach nobody, what is firing, what is pending (apart: nobody has
 * been told yet), every rule with its current value and state, each with its runbook, and history.
 */
import { useState } from 'react';
import { Badge, Card, Empty, ErrorNote } from '../components.tsx';
import { ago, time } from '../format.ts';
import { usePolled } from '../hooks.ts';
import { Runbook } from '../runbook.tsx';
import type { Alert, AlertRule, Alerts as AlertsData } from '../types.ts';

const STATE_BADGE: Record<string, string> = {
  firing: 'fail',
  pending: 'warn',
  ok: 'pass',
  resolved: 'pass',
  no_data: 'warn',
};
const STATE_WORD: Record<string, string> = { no_data: 'no data' };

/** The runbook toggle, and an external link when ALERT_RUNBOOK_BASE_URL makes the runbook one. */
function RunbookToggle({ runbook, open, toggle }: { runbook?: string; open: boolean; toggle: () => void }) {
  const external = runbook && /^https?:\/\//.test(runbook) ? runbook : undefined;
  return (
    <div className="runbook-cell">
      <button type="button" className="link" aria-expanded={open} onClick={toggle}>
        {open ? 'Hide runbook' : 'Runbook'}
      </button>
      {external && (
        <>
          {' · '}
          <a href={external} target="_blank" rel="noreferrer">
            docs
          </a>
        </>
      )}
    </div>
  );
}

/** Which rows have their runbook open (by key), and the full-width row that shows it. */
function useOpenRunbooks() {
  const [open, setOpen] = useState<ReadonlySet<string>>(new Set());
  const toggle = (key: string) =>
    setOpen((cur) => {
      const next = new Set(cur);
      if (!next.delete(key)) next.add(key);
      return next;
    });
  return { open, toggle };
}

function RunbookRow({ alert, columns }: { alert: string; columns: number }) {
  return (
    <tr className="runbook-row" data-runbook={alert}>
      <td colSpan={columns}>
        <Runbook alert={alert} />
      </td>
    </tr>
  );
}

function AlertTable({ alerts, testId }: { alerts: Alert[]; testId: string }) {
  const runbooks = useOpenRunbooks();
  return (
    <table className="table" data-testid={testId}>
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
        {alerts.flatMap((a) => {
          const key = `${a.alert}-${a.startedAt}`;
          const open = runbooks.open.has(key);
          return [
            <tr key={key} data-alert={a.alert}>
              <td>
                <strong>{a.alert}</strong>
                {a.summary && <div className="muted">{a.summary}</div>}
                <RunbookToggle runbook={a.runbook} open={open} toggle={() => runbooks.toggle(key)} />
              </td>
              <td>
                <Badge status={STATE_BADGE[a.state] ?? 'warn'}>{a.state}</Badge>
              </td>
              <td>
                {a.value ?? '—'} / {a.threshold ?? '—'}
              </td>
              <td title={a.startedAt}>{ago(a.startedAt)}</td>
              <td>{a.resolvedAt ? time(a.resolvedAt) : '—'}</td>
            </tr>,
            open && <RunbookRow key={`${key}-runbook`} alert={a.alert} columns={5} />,
          ];
        })}
      </tbody>
    </table>
  );
}

function RuleTable({ rules }: { rules: AlertRule[] }) {
  const runbooks = useOpenRunbooks();
  return (
    <table className="table" data-testid="alert-rules">
      <thead>
        <tr>
          <th>Rule</th>
          <th>State</th>
          <th>Current value</th>
          <th>Fires when</th>
        </tr>
      </thead>
      <tbody>
        {rules.flatMap((r) => {
          const open = runbooks.open.has(r.alert);
          return [
            <tr key={r.alert} data-alert={r.alert} data-state={r.state}>
              <td>
                <strong>{r.alert}</strong>
                <div className="muted">{r.summary}</div>
                <RunbookToggle runbook={r.runbook} open={open} toggle={() => runbooks.toggle(r.alert)} />
              </td>
              <td>
                <Badge status={STATE_BADGE[r.state] ?? 'warn'}>{STATE_WORD[r.state] ?? r.state}</Badge>
                {r.since && (r.state === 'pending' || r.state === 'firing') && (
                  <div className="muted" title={r.since}>
                    since {time(r.since)}
                  </div>
                )}
              </td>
              <td>{r.value ?? '—'}</td>
              <td>
                {r.threshold}
                {r.forSeconds > 0 && <div className="muted">for {r.forSeconds} s</div>}
              </td>
            </tr>,
            open && <RunbookRow key={`${r.alert}-runbook`} alert={r.alert} columns={4} />,
          ];
        })}
      </tbody>
    </table>
  );
}

/** The Alerts page. */
export function Alerts() {
  const res = usePolled<AlertsData>('/alerts?limit=100', 10_000);
  if (res.error !== undefined && !res.data) return <ErrorNote error={res.error} what="alerts" />;
  if (!res.data) return <p>Loading…</p>;
  const d = res.data;
  return (
    <div className="grid">
      {d.destinations.length === 0 && (
        <div className="note note-warn card-wide" role="alert" data-testid="no-destination">
          <strong>No alert destination is configured:</strong> alerts show here, but nobody is notified. Set{' '}
          <code>ALERT_TELEGRAM_CHAT_ID</code> and <code>ALERT_TELEGRAM_BOT_TOKEN</code>, or{' '}
          <code>ALERT_SLACK_WEBHOOK_URL</code> (or route <code>deploy/prometheus/alerts.yml</code> through
          Alertmanager).
        </div>
      )}
      {res.error !== undefined && <ErrorNote error={res.error} what="alerts" />}
      <Card title="Firing now" wide>
        {d.firing.length === 0 ? (
          <Empty>No alert is firing.</Empty>
        ) : (
          <AlertTable alerts={d.firing} testId="alerts-firing" />
        )}
      </Card>
      <Card title="Pending" wide>
        {d.pending.length === 0 ? (
          <Empty>No alert is pending.</Empty>
        ) : (
          <>
            <p className="muted">The condition holds but not yet for long enough: nobody has been notified.</p>
            <AlertTable alerts={d.pending} testId="alerts-pending" />
          </>
        )}
      </Card>
      <Card title="Rules" wide>
        <p className="muted" data-testid="rules-evaluated">
          {d.rules.evaluatedAt
            ? `Evaluated ${ago(d.rules.evaluatedAt)} (every 10 s, by the replica that leads alerting).`
            : 'Not evaluated yet: no replica has run the alert rules.'}
          {d.destinations.length > 0 && ` Notifications go to ${d.destinations.join(' and ')}.`}
        </p>
        <RuleTable rules={d.rules.items} />
      </Card>
      <Card title="History" wide>
        {d.recent.length === 0 ? (
          <Empty>No alert has fired yet.</Empty>
        ) : (
          <AlertTable alerts={d.recent} testId="alerts-history" />
        )}
      </Card>
    </div>
  );
}
