/** One conversation: messages in both directions with delivery status and stage timelines; reset, pause, resume. */
import { Fragment, useState } from 'react';
import { api, explain } from '../api.ts';
import { Badge, Empty, ErrorNote } from '../components.tsx';
import { ago, between, time } from '../format.ts';
import { usePolled } from '../hooks.ts';
import { navigate } from '../router.ts';
import type { Message, Session, ToolCall } from '../types.ts';

const STATUS_CLASS: Record<string, string> = {
  done: 'pass',
  sent: 'pass',
  delivered: 'pass',
  read: 'pass',
  pending: 'warn',
  processing: 'warn',
  sending: 'warn',
  failed: 'fail',
  dead: 'fail',
};

function Timeline({ m }: { m: Message }) {
  if (m.timeline.length === 0) return null;
  const first = m.timeline[0].at;
  return (
    <ol className="timeline" data-testid="timeline">
      {m.timeline.map((s) => (
        <li key={s.stage}>
          <span className="stage">{s.stage.replace('_', ' ')}</span> {time(s.at)}
          {s.at !== first && <span className="muted"> (+{between(first, s.at)})</span>}
        </li>
      ))}
    </ol>
  );
}

const TOOL_CLASS: Record<string, string> = { ok: 'pass', started: 'warn', refused: 'warn' };

/** One tool call of the assistant (arguments and result come redacted from the server). */
function ToolCallItem({ c }: { c: ToolCall }) {
  return (
    <div className="msg msg-tool" data-testid="msg-tool">
      <div className="msg-text">
        <span className="muted">tool</span> <code>{c.tool}</code>
      </div>
      <div className="msg-meta">
        {time(c.startedAt)} · step {c.step} · <Badge status={TOOL_CLASS[c.outcome] ?? 'fail'}>{c.outcome}</Badge>
        {c.finishedAt && <> · {between(c.startedAt, c.finishedAt)}</>}
      </div>
      <details>
        <summary>arguments and result</summary>
        <pre className="tool-json">{c.arguments}</pre>
        <pre className="tool-json">{c.result ?? '(no result recorded yet)'}</pre>
      </details>
    </div>
  );
}

/** The conversation view. */
export function Conversation({ id }: { id: number }) {
  const res = usePolled<{ session: Session; messages: Message[]; toolCalls?: ToolCall[] }>(
    `/sessions/${id}/messages?limit=200`,
    5000,
  );
  // Tool calls are shown right after the inbound message whose turn made them.
  const toolsByInbox = new Map<number, ToolCall[]>();
  for (const c of res.data?.toolCalls ?? []) toolsByInbox.set(c.inboxId, [...(toolsByInbox.get(c.inboxId) ?? []), c]);
  const [busy, setBusy] = useState(false);
  const [actionError, setActionError] = useState<string>();
  const [notice, setNotice] = useState<string>();

  const act = async (action: 'reset' | 'pause' | 'resume', done: string) => {
    setBusy(true);
    setActionError(undefined);
    try {
      await api(`/sessions/${id}/${action}`, { method: 'POST' });
      setNotice(done);
      res.reload();
    } catch (e) {
      setActionError(explain(e));
    } finally {
      setBusy(false);
    }
  };

  const s = res.data?.session;
  return (
    <div>
      <p>
        <a
          href="/admin/ui/conversations"
          onClick={(e) => {
            e.preventDefault();
            navigate('/ui/conversations');
          }}
        >
          ← All conversations
        </a>
      </p>
      {res.error !== undefined && <ErrorNote error={res.error} what="this conversation" />}
      {s && (
        <header className="conv-head">
          <div>
            <h2 data-testid="conversation-title">{s.displayName ?? s.chatId}</h2>
            <div className="muted">
              {s.channel} · {s.chatId} · last activity {ago(s.lastSeenAt)} · {s.messagesIn} in / {s.messagesOut} out
              {s.contextResetAt && <> · history reset {ago(s.contextResetAt)}</>}
            </div>
            <div data-testid="conversation-state">
              {s.paused ? (
                <Badge status="warn">paused: the bot stays silent</Badge>
              ) : (
                <Badge status="pass">the bot answers</Badge>
              )}
              {s.blocked && <Badge status="fail">the user blocked the bot</Badge>}
            </div>
          </div>
          <div className="actions">
            {s.paused ? (
              <button type="button" disabled={busy} onClick={() => act('resume', 'The bot answers again.')}>
                Resume bot
              </button>
            ) : (
              <button
                type="button"
                disabled={busy}
                onClick={() => act('pause', 'Paused: the bot stays silent while a human answers.')}
              >
                Pause bot
              </button>
            )}
            <button
              type="button"
              className="secondary"
              disabled={busy}
              onClick={() => {
                if (window.confirm('Forget this conversation’s history? The assistant will start afresh.'))
                  void act('reset', 'History reset: the assistant starts afresh from the next message.');
              }}
            >
              Reset history
            </button>
          </div>
        </header>
      )}
      {notice && <div className="note note-ok">{notice}</div>}
      {actionError && (
        <div className="note note-error" role="alert">
          {actionError}
        </div>
      )}
      {res.data && res.data.messages.length === 0 && <Empty>No messages stored for this conversation.</Empty>}
      <div className="messages" data-testid="messages">
        {res.data?.messages.map((m) => (
          <Fragment key={`${m.direction}-${m.id}`}>
            <div className={`msg msg-${m.direction}`} data-testid={`msg-${m.direction}`}>
              <div className="msg-text">{m.text ?? <span className="muted">({m.kind})</span>}</div>
              <div className="msg-meta">
                {time(m.at)} · <Badge status={STATUS_CLASS[m.status] ?? 'muted'}>{m.status}</Badge>
                {m.attempts > 1 && <> · {m.attempts} attempts</>}
              </div>
              {m.failureReason && <div className="msg-fail">Why: {m.failureReason}</div>}
              <details>
                <summary>timeline</summary>
                <Timeline m={m} />
              </details>
            </div>
            {m.direction === 'in' && toolsByInbox.get(m.id)?.map((c) => <ToolCallItem key={`tool-${c.id}`} c={c} />)}
          </Fragment>
        ))}
      </div>
    </div>
  );
}
