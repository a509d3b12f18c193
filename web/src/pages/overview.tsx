/** Overview: dependency health, traffic charts, backlog, outbound outcomes, dead letters, alerts firing. Refreshes every 5 s. */
import { useEffect, useMemo, useState } from 'react';
import { ApiError } from '../api.ts';
import { Badge, Card, Chart, Empty, ErrorNote, ScrollTable } from '../components.tsx';
import { ago, num, pct } from '../format.ts';
import { usePolled } from '../hooks.ts';
import { navigate } from '../router.ts';
import type { Alerts, DeadLetterPage, HealthView, Queues, Stats, StatusView } from '../types.ts';

const REFRESH_MS = 5000;

function HealthCard() {
  const h = usePolled<HealthView>('/health', REFRESH_MS);
  return (
    <Card title="Dependencies">
      {h.error !== undefined && <ErrorNote error={h.error} what="dependency health" />}
      {h.data && (
        <>
          <p>
            Overall <Badge status={h.data.status} />
            {h.data.shuttingDown && <> · shutting down</>}
          </p>
          <ScrollTable>
            <table className="table" data-testid="health-table">
              <tbody>
                {h.data.dependencies.map((d) => (
                  <tr key={d.name}>
                    <td>{d.name}</td>
                    <td>
                      <Badge status={d.status} />
                    </td>
                    <td className="num">{d.latencyMs === null ? '—' : `${num(d.latencyMs)} ms`}</td>
                    <td className="muted">{d.detail ?? ''}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </ScrollTable>
        </>
      )}
    </Card>
  );
}

function TrafficCards() {
  const s = usePolled<Stats>('/stats?minutes=60', REFRESH_MS);
  const series = s.data?.series;
  const xs = useMemo(() => (series ?? []).map((p) => p.t / 1000), [series]);
  const rps = useMemo(() => (series ?? []).map((p) => p.rps), [series]);
  const p95 = useMemo(() => (series ?? []).map((p) => p.p95Ms), [series]);
  const err = useMemo(() => (series ?? []).map((p) => p.errorRate * 100), [series]);
  if (s.error !== undefined)
    return (
      <Card title="Traffic" wide>
        <ErrorNote error={s.error} what="request statistics" />
      </Card>
    );
  if (!s.data) return <Card title="Traffic">Loading…</Card>;
  const w = s.data.windows;
  return (
    <Card title="Traffic (last hour)" wide>
      <div className="stats-row" data-testid="traffic-numbers">
        {(['1m', '5m', '15m'] as const).map((k) => (
          <div key={k} className="stat">
            <div className="stat-label">last {k}</div>
            <div className="stat-value" data-testid={`requests-${k}`}>
              {w[k].requests}
            </div>
            <div className="muted">
              requests · {num(w[k].rps, 2)} rps · p95 {w[k].p95Ms === null ? '—' : `${num(w[k].p95Ms)} ms`} · errors{' '}
              {pct(w[k].errorRate)}
            </div>
          </div>
        ))}
      </div>
      <div className="charts">
        <div>
          <h3>Requests per second</h3>
          <Chart label="rps" xs={xs} ys={rps} unit="" testId="chart-rps" />
        </div>
        <div>
          <h3>p95 latency</h3>
          <Chart label="p95" xs={xs} ys={p95} unit=" ms" testId="chart-p95" />
        </div>
        <div>
          <h3>Error rate</h3>
          <Chart label="errors" xs={xs} ys={err} unit=" %" testId="chart-errors" />
        </div>
      </div>
    </Card>
  );
}

function QueueCard() {
  const q = usePolled<Queues>('/queues', REFRESH_MS);
  return (
    <Card title="Inbox and outbound">
      {q.error !== undefined && <ErrorNote error={q.error} what="queue numbers" />}
      {q.data && (
        <div data-testid="queues">
          <p>
            Inbox backlog: <strong data-testid="inbox-pending">{q.data.inbox.pending}</strong> waiting,{' '}
            {q.data.inbox.processing} being answered, <strong>{q.data.inbox.dead}</strong> dead letters
            {q.data.inbox.oldestPendingSeconds !== null && <> · oldest waiting {q.data.inbox.oldestPendingSeconds} s</>}
          </p>
          <ScrollTable>
            <table className="table">
              <thead>
                <tr>
                  <th>Outbound</th>
                  <th className="num">last hour</th>
                  <th className="num">last 24 h</th>
                </tr>
              </thead>
              <tbody>
                {Object.keys(q.data.outbound.last24h).map((k) => (
                  <tr key={k}>
                    <td>{k}</td>
                    <td className="num" data-testid={`out-lastHour-${k}`}>
                      {q.data!.outbound.lastHour[k] ?? 0}
                    </td>
                    <td className="num" data-testid={`out-last24h-${k}`}>
                      {q.data!.outbound.last24h[k] ?? 0}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </ScrollTable>
        </div>
      )}
    </Card>
  );
}

/** The latest dead letters: messages WADI gave up on, whether the user was told, and where they came from. */
function DeadLettersCard() {
  const d = usePolled<DeadLetterPage>('/dead-letters?limit=10', REFRESH_MS);
  return (
    <Card title="Dead letters">
      {d.error !== undefined && <ErrorNote error={d.error} what="dead letters" />}
      {d.data && d.data.items.length === 0 && <Empty>No message was given up on.</Empty>}
      {d.data && d.data.items.length > 0 && (
        <ul className="list" data-testid="dead-letters">
          {d.data.items.map((x) => (
            <li key={x.id} data-testid="dead-letter">
              <Badge status="fail">dead</Badge> {x.channel} · {x.text ?? `(${x.kind})`}{' '}
              <span className="muted">
                {ago(x.receivedAt)} · {x.attempts} attempts{x.lastError ? ` · ${x.lastError}` : ''}
              </span>{' '}
              {x.userNotified ? <Badge status="pass">user told</Badge> : <Badge status="warn">user not told</Badge>}
              {x.conversationId !== null && (
                <>
                  {' '}
                  <a
                    href={`/admin/ui/conversations/${x.conversationId}`}
                    onClick={(e) => {
                      e.preventDefault();
                      navigate(`/ui/conversations/${x.conversationId}`);
                    }}
                  >
                    conversation
                  </a>
                </>
              )}
            </li>
          ))}
        </ul>
      )}
    </Card>
  );
}

function FiringCard() {
  const a = usePolled<Alerts>('/alerts?limit=1', REFRESH_MS);
  return (
    <Card title="Alerts firing">
      {a.error !== undefined && <ErrorNote error={a.error} what="alerts" />}
      {a.data && a.data.firing.length === 0 && <Empty>No alert is firing.</Empty>}
      {a.data && a.data.firing.length > 0 && (
        <ul className="list">
          {a.data.firing.map((x) => (
            <li key={`${x.alert}-${x.startedAt}`}>
              <Badge status="fail">{x.alert}</Badge> {x.summary} <span className="muted">since {ago(x.startedAt)}</span>
            </li>
          ))}
        </ul>
      )}
    </Card>
  );
}

/** Seconds since `d`, re-rendered every second. */
function useSecondsSince(d: Date | undefined): number | undefined {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, []);
  return d ? Math.max(0, Math.round((now - d.getTime()) / 1000)) : undefined;
}

/** One attention count, linking to the conversations it counts (`filter`) or to another page (`to`). */
function Count({
  n,
  label,
  status,
  filter,
  to,
}: {
  n: number;
  label: string;
  status: string;
  filter?: string;
  to?: string;
}) {
  const body = (
    <>
      <Badge status={n > 0 ? status : 'pass'}>{n}</Badge> {label}
    </>
  );
  const target = to ?? (filter ? `/ui/conversations?status=${filter}` : undefined);
  if (!target) return <span data-testid={`attention-${label.replace(/\s+/g, '-')}`}>{body}</span>;
  return (
    <a
      href={`/admin${target}`}
      data-testid={`attention-${label.replace(/\s+/g, '-')}`}
      onClick={(e) => {
        e.preventDefault();
        navigate(target);
      }}
    >
      {body}
    </a>
  );
}

/** The status strip: healthy / degraded / unreachable, and whether users are being answered. */
function StatusStrip() {
  const h = usePolled<HealthView>('/health', REFRESH_MS);
  const st = usePolled<StatusView>('/status', REFRESH_MS);
  const updated = useSecondsSince(st.updatedAt ?? h.updatedAt);
  const unreachable =
    (h.error instanceof ApiError && (h.error.status === 0 || h.error.status >= 502)) ||
    (st.error instanceof ApiError && st.error.status === 0);
  const overall = unreachable
    ? 'unreachable'
    : h.data?.status === 'pass' && (st.data?.attention.failed ?? 0) === 0 && (st.data?.attention.dead ?? 0) === 0
      ? 'healthy'
      : h.data || st.data
        ? 'degraded'
        : undefined;
  const s = st.data;
  return (
    <section className="status-strip" data-testid="status-strip" aria-live="polite">
      <span className={`big status-${overall ?? 'unknown'}`} data-testid="status-overall">
        {overall ?? 'checking…'}
      </span>
      <span className="muted" data-testid="status-updated">
        {updated === undefined ? 'not updated yet' : `updated ${updated} s ago`}
      </span>
      {s && (
        <>
          <span data-testid="status-last-inbound">
            {s.lastInbound.length === 0
              ? 'no user message yet'
              : s.lastInbound.map((l) => `${l.channel}: last message ${ago(l.at)}`).join(' · ')}
          </span>
          <span data-testid="status-rates">
            {num(s.perMinute.inbound)} in / {num(s.perMinute.outbound)} out per min
          </span>
          <span data-testid="status-ttr">
            time to reply {s.timeToReply.p50Ms === null ? '—' : `${num(s.timeToReply.p50Ms / 1000)} s`} median ·{' '}
            {s.timeToReply.p95Ms === null ? '—' : `${num(s.timeToReply.p95Ms / 1000)} s`} p95
          </span>
          <Count n={s.attention.failed} label="failed" status="fail" filter="failed" />
          {/* Retrying replies are not a conversation state: the Failures view lists them with their next attempt. */}
          <Count n={s.attention.retrying} label="retrying" status="warn" to="/ui/failures" />
          <Count n={s.attention.needsHuman} label="need a human" status="fail" filter="needs_human" />
          <Count n={s.attention.unanswered} label="unanswered" status="warn" filter="unanswered" />
        </>
      )}
    </section>
  );
}

/** The Overview page. */
export function Overview() {
  return (
    <>
      <StatusStrip />
      <OverviewGrid />
    </>
  );
}

function OverviewGrid() {
  return (
    <div className="grid">
      <TrafficCards />
      <HealthCard />
      <QueueCard />
      <DeadLettersCard />
      <FiringCard />
    </div>
  );
}
