/** Failures: outbound messages that failed or are being retried (reason, next attempt) and dead letters with Replay. */
import { useState } from 'react';
import { api, explain } from '../api.ts';
import { Badge, Card, Empty, ErrorNote, ScrollTable } from '../components.tsx';
import { ago, time } from '../format.ts';
import { useActionError, usePolled } from '../hooks.ts';
import { navigate } from '../router.ts';
import type { Failures as FailuresView, OutboundFailure } from '../types.ts';

function ConversationLink({ id }: { id: number | null }) {
  if (id === null) return <span className="muted">—</span>;
  return (
    <a
      href={`/admin/ui/conversations/${id}`}
      onClick={(e) => {
        e.preventDefault();
        navigate(`/ui/conversations/${id}`);
      }}
    >
      #{id}
    </a>
  );
}

function OutboundTable({ rows, retrying }: { rows: OutboundFailure[]; retrying: boolean }) {
  return (
    <ScrollTable minWidth={560}>
      <table className="table" data-testid={retrying ? 'retrying-table' : 'failed-table'}>
        <thead>
          <tr>
            <th>Conversation</th>
            <th>Message</th>
            <th>Why</th>
            <th className="num">Attempts</th>
            <th>{retrying ? 'Next attempt' : 'Failed'}</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((f) => (
            <tr key={f.id}>
              <td>
                <ConversationLink id={f.conversationId} /> <span className="muted">{f.channel}</span>
              </td>
              <td className="clip">{f.text}</td>
              <td>
                {f.failureReason ?? (retrying ? 'retrying' : 'failed')}
                {f.errorCode && (
                  <div className="muted">
                    {f.errorCode} {f.errorTitle ?? ''}
                  </div>
                )}
              </td>
              <td className="num">{f.attempts}</td>
              <td className="nowrap">
                {retrying ? (f.nextAttemptAt ? time(f.nextAttemptAt) : '—') : f.failedAt ? ago(f.failedAt) : '—'}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </ScrollTable>
  );
}

/** The Failures page. */
export function Failures() {
  const res = usePolled<FailuresView>('/failures?limit=100', 5000);
  const [notice, setNotice] = useState<string>();
  const [error, setError] = useActionError();
  const replay = async (id: number) => {
    setError(undefined);
    try {
      await api(`/messages/${id}/replay`, { method: 'POST' });
      setNotice(`Message ${id} is back in the queue; the assistant answers it shortly.`);
      res.reload();
    } catch (e) {
      setError(explain(e));
    }
  };
  const d = res.data;
  return (
    <div className="grid">
      {res.error !== undefined && <ErrorNote error={res.error} what="failures" />}
      {notice && <div className="note note-ok card-wide">{notice}</div>}
      {error && (
        <div className="note note-error card-wide" role="alert">
          {error}
        </div>
      )}
      <Card title={`Dead letters${d ? ` (${d.dead.length})` : ''}`} wide>
        {d && d.dead.length === 0 && <Empty>No inbound message has failed every attempt.</Empty>}
        {d && d.dead.length > 0 && (
          <ScrollTable minWidth={560}>
            <table className="table" data-testid="dead-table">
              <thead>
                <tr>
                  <th>Conversation</th>
                  <th>Message</th>
                  <th>Last error</th>
                  <th className="num">Attempts</th>
                  <th>Received</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {d.dead.map((m) => (
                  <tr key={m.id} data-testid="dead-row">
                    <td>
                      <ConversationLink id={m.conversationId} /> <span className="muted">{m.channel}</span>
                    </td>
                    <td className="clip">{m.text ?? <span className="muted">({m.kind})</span>}</td>
                    <td className="clip">{m.lastError ?? '—'}</td>
                    <td className="num">{m.attempts}</td>
                    <td className="nowrap">{ago(m.receivedAt)}</td>
                    <td>
                      <button type="button" onClick={() => replay(m.id)} data-testid="replay">
                        Replay
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </ScrollTable>
        )}
      </Card>
      <Card title={`Retrying${d ? ` (${d.retrying.length})` : ''}`} wide>
        {d && d.retrying.length === 0 && <Empty>Nothing is waiting for a retry.</Empty>}
        {d && d.retrying.length > 0 && <OutboundTable rows={d.retrying} retrying />}
      </Card>
      <Card title={`Failed in the last 7 days${d ? ` (${d.failed.length})` : ''}`} wide>
        {d && d.failed.length === 0 && <Empty>No outbound message failed.</Empty>}
        {d && d.failed.length > 0 && <OutboundTable rows={d.failed} retrying={false} />}
        {d && d.failed.length > 0 && (
          <p className="muted">
            <Badge status="warn">window_closed</Badge> means WhatsApp’s 24-hour window had closed: configure
            WHATSAPP_TEMPLATES_FILE or re-engage the user with a template from the conversation.
          </p>
        )}
      </Card>
    </div>
  );
}
