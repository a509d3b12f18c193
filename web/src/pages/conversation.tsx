/**
 * One conversation: messages in both directions (newest at the bottom, opened there) with delivery
 * status and stage timelines, a divider where the history was reset, long messages collapsed; an
 * operator's reply box, a WhatsApp template form for when the 24 h window is closed, handing the
 * unanswered messages to the assistant; reset, pause, resume. Outbound texts are shown as the user
 * saw them (WhatsApp markup or Telegram HTML rendered, or the plain resend).
 */
import { type FormEvent, Fragment, useEffect, useLayoutEffect, useRef, useState } from 'react';
import { api, explain } from '../api.ts';
import { ChatText } from '../chat-text.tsx';
import { Badge, Empty, ErrorNote } from '../components.tsx';
import { ago, between, time } from '../format.ts';
import { useActionError, usePolled } from '../hooks.ts';
import { navigate } from '../router.ts';
import type { Message, Session, ToolCall, UserErased } from '../types.ts';

const STATUS_CLASS: Record<string, string> = {
  done: 'pass',
  sent: 'pass',
  delivered: 'pass',
  read: 'pass',
  pending: 'warn',
  processing: 'warn',
  sending: 'warn',
  unanswered: 'warn',
  failed: 'fail',
  dead: 'fail',
};

/** Platform limit of one text message (WhatsApp and Telegram). */
const MAX_TEXT = 4096;
/** Longer messages are shown collapsed. */
const COLLAPSE_AT = 600;
const WINDOW_MS = 24 * 3600 * 1000;

const AUTHOR: Record<Message['author'], string> = {
  user: 'user',
  assistant: 'assistant',
  operator: 'operator',
  wadi: 'WADI notice',
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

/** A message's text, collapsed when long. */
function MessageText({ m }: { m: Message }) {
  const [open, setOpen] = useState(false);
  if (m.text === null || m.text === '') return <span className="muted">({m.kind})</span>;
  const long = m.text.length > COLLAPSE_AT;
  return (
    <>
      <div className="msg-text" data-testid="msg-text" data-format={m.format}>
        {long && !open ? `${m.text.slice(0, COLLAPSE_AT).trimEnd()}…` : <ChatText text={m.text} format={m.format} />}
      </div>
      {long && (
        <button type="button" className="link" onClick={() => setOpen((o) => !o)} data-testid="msg-expand">
          {open ? 'Show less' : `Show all (${m.text.length} characters)`}
        </button>
      )}
    </>
  );
}

const STATE_BADGE: Record<Session['state'], [string, string]> = {
  needs_human: ['fail', 'needs a human: the bot stays silent'],
  paused: ['warn', 'paused: the bot stays silent'],
  opted_out: ['warn', 'opted out of proactive messages'],
  blocked: ['fail', 'the user blocked the bot'],
  active: ['pass', 'the bot answers'],
};

/** The operator's reply box (and, on WhatsApp outside the 24 h window, the template form). */
function Composer({ s, onSent }: { s: Session; onSent: (what: string) => void }) {
  const [text, setText] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useActionError();
  const [tpl, setTpl] = useState({ name: '', language: 'es', parameters: '' });
  const windowClosed =
    s.channel === 'whatsapp' && (!s.lastInboundAt || Date.now() - Date.parse(s.lastInboundAt) > WINDOW_MS);

  const send = async (e: FormEvent) => {
    e.preventDefault();
    if (!text.trim()) return;
    setBusy(true);
    setError(undefined);
    try {
      await api(`/sessions/${s.id}/messages`, { method: 'POST', body: { text } });
      setText('');
      onSent('Reply queued: it goes out through the outbox; its status appears below.');
    } catch (err) {
      setError(explain(err));
    } finally {
      setBusy(false);
    }
  };

  const sendTemplate = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const parameters = tpl.parameters
        .split('\n')
        .map((p) => p.trim())
        .filter(Boolean);
      await api(`/sessions/${s.id}/template`, {
        method: 'POST',
        body: { name: tpl.name.trim(), language: tpl.language.trim(), parameters },
      });
      onSent(`Template ${tpl.name} queued.`);
    } catch (err) {
      setError(explain(err));
    } finally {
      setBusy(false);
    }
  };

  if (s.blocked) return <div className="note note-empty">The user blocked the bot: nothing can be sent.</div>;
  return (
    <section className="composer-box" data-testid="composer">
      {windowClosed && (
        <div className="note note-warn" data-testid="window-closed">
          WhatsApp’s 24-hour window is closed (last message from the user {ago(s.lastInboundAt)}). A free-form reply
          goes out as the operator template of WHATSAPP_TEMPLATES_FILE when one is configured, otherwise it fails. You
          can send an approved template instead:
        </div>
      )}
      <form onSubmit={send} className="reply-form">
        <label htmlFor="reply-text" className="muted">
          Reply as an operator{s.state === 'needs_human' ? ' (the user asked for a person)' : ''}
        </label>
        <textarea
          id="reply-text"
          rows={3}
          value={text}
          maxLength={MAX_TEXT}
          onChange={(e) => setText(e.target.value)}
          placeholder="Write to the user…"
          data-testid="reply-text"
        />
        <div className="reply-row">
          <span className={text.length > MAX_TEXT - 200 ? 'muted warn' : 'muted'} data-testid="reply-count">
            {text.length} / {MAX_TEXT}
          </span>
          <button type="submit" disabled={busy || !text.trim()} data-testid="reply-send">
            Send reply
          </button>
        </div>
      </form>
      {s.channel === 'whatsapp' && (
        <details open={windowClosed} className="template-form">
          <summary>Send a WhatsApp template</summary>
          <form onSubmit={sendTemplate}>
            <input
              aria-label="template name"
              placeholder="template name, e.g. wadi_agent_followup"
              value={tpl.name}
              onChange={(e) => setTpl({ ...tpl, name: e.target.value })}
              data-testid="template-name"
            />
            <input
              aria-label="template language"
              placeholder="language, e.g. es or en_US"
              value={tpl.language}
              onChange={(e) => setTpl({ ...tpl, language: e.target.value })}
              data-testid="template-language"
            />
            <textarea
              aria-label="template parameters, one per line"
              placeholder="parameters {{1}}, {{2}}…, one per line"
              rows={2}
              value={tpl.parameters}
              onChange={(e) => setTpl({ ...tpl, parameters: e.target.value })}
              data-testid="template-parameters"
            />
            <button type="submit" disabled={busy || !tpl.name.trim()} data-testid="template-send">
              Send template
            </button>
          </form>
        </details>
      )}
      {error && (
        <div className="note note-error" role="alert" data-testid="composer-error">
          {error}
        </div>
      )}
    </section>
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
  const [erased, setErased] = useState<UserErased>();
  const res = usePolled<{ session: Session; messages: Message[]; toolCalls?: ToolCall[] }>(
    erased ? null : `/sessions/${id}/messages?limit=200`,
    3000,
  );
  // Tool calls are shown right after the inbound message whose turn made them.
  const toolsByInbox = new Map<number, ToolCall[]>();
  for (const c of res.data?.toolCalls ?? []) toolsByInbox.set(c.inboxId, [...(toolsByInbox.get(c.inboxId) ?? []), c]);
  const [busy, setBusy] = useState(false);
  const [actionError, setActionError] = useActionError();
  const [notice, setNotice] = useState<string>();
  const list = useRef<HTMLDivElement>(null);
  const stick = useRef(true);
  const seen = useRef(0);

  const act = async (path: string, done: string) => {
    setBusy(true);
    setActionError(undefined);
    try {
      await api(`/sessions/${id}/${path}`, { method: 'POST' });
      setNotice(done);
      res.reload();
    } catch (e) {
      setActionError(explain(e));
    } finally {
      setBusy(false);
    }
  };

  // Follow the newest message while the operator is at the bottom; leave them alone when they scrolled up.
  useEffect(() => {
    const el = list.current;
    if (!el) return;
    const on = () => {
      stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
    };
    el.addEventListener('scroll', on);
    return () => el.removeEventListener('scroll', on);
  });
  const count = res.data?.messages.length ?? 0;
  useLayoutEffect(() => {
    const el = list.current;
    if (!el || count === seen.current) return;
    if (stick.current || seen.current === 0) el.scrollTop = el.scrollHeight;
    seen.current = count;
  }, [count]);

  /** Erases the person behind a private conversation, after the operator confirmed by name. */
  const erase = async (channel: string, userId: string, who: string) => {
    if (
      !window.confirm(
        `Erase everything stored about ${who} (${channel} ${userId})? Their messages, replies, history and ` +
          'conversation are deleted for good; the audit log keeps only a hash.',
      )
    )
      return;
    setBusy(true);
    setActionError(undefined);
    try {
      setErased(await api<UserErased>(`/users/${channel}/${encodeURIComponent(userId)}`, { method: 'DELETE' }));
    } catch (e) {
      setActionError(explain(e));
    } finally {
      setBusy(false);
    }
  };

  if (erased) {
    const e = erased.erased;
    return (
      <div>
        <div className="note note-ok" data-testid="erased">
          Erased: {e.inbound} message(s), {e.outbound} reply part(s), {e.history} history row(s), {e.toolCalls} tool
          call(s) and {e.conversations} conversation(s). The audit log keeps only the hash{' '}
          {erased.userHash.slice(0, 16)}…
        </div>
        <p>
          <a
            href="/admin/ui/conversations"
            onClick={(ev) => {
              ev.preventDefault();
              navigate('/ui/conversations');
            }}
          >
            ← All conversations
          </a>
        </p>
      </div>
    );
  }

  const s = res.data?.session;
  const messages = res.data?.messages ?? [];
  const resetAt = s?.contextResetAt ? Date.parse(s.contextResetAt) : undefined;
  const dividerBefore = resetAt === undefined ? -1 : messages.findIndex((m) => Date.parse(m.at) >= resetAt);
  const [badgeStatus, badgeText] = s ? STATE_BADGE[s.state] : ['muted', ''];
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
              <Badge status={badgeStatus}>{badgeText}</Badge>
              {s.state !== 'opted_out' && s.optedOutAt && <Badge status="warn">opted out</Badge>}
              {s.unanswered > 0 && <Badge status="warn">{s.unanswered} unanswered</Badge>}
              {s.failed > 0 && <Badge status="fail">{s.failed} failed</Badge>}
            </div>
          </div>
          <div className="actions">
            {s.paused ? (
              <button
                type="button"
                disabled={busy}
                onClick={() => act('resume', 'The bot answers again.')}
                data-testid="resume"
              >
                Resume bot
              </button>
            ) : (
              <button
                type="button"
                disabled={busy}
                onClick={() => act('pause', 'Paused: the bot stays silent while a human answers.')}
                data-testid="pause"
              >
                Pause bot
              </button>
            )}
            {!s.paused && s.unanswered > 0 && (
              <button
                type="button"
                disabled={busy}
                onClick={() =>
                  act('answer', `The assistant is answering the ${s.unanswered} message(s) nobody answered.`)
                }
                data-testid="answer-unanswered"
              >
                Let the assistant answer {s.unanswered} unanswered
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
            <a
              className="button-link"
              href={`/admin/ui/logs?conversation=${s.id}&level=debug`}
              onClick={(e) => {
                e.preventDefault();
                navigate(`/ui/logs?conversation=${s.id}&level=debug`);
              }}
              data-testid="conversation-logs"
            >
              Logs
            </a>
            {s.chatType === 'private' && (
              <button
                type="button"
                className="danger"
                disabled={busy}
                onClick={() => void erase(s.channel, s.userId ?? s.chatId, s.displayName ?? s.chatId)}
                data-testid="erase-user"
              >
                Erase user data
              </button>
            )}
          </div>
        </header>
      )}
      {notice && (
        <div className="note note-ok" data-testid="notice">
          {notice}
        </div>
      )}
      {actionError && (
        <div className="note note-error" role="alert">
          {actionError}
        </div>
      )}
      {res.data && messages.length === 0 && <Empty>No messages stored for this conversation.</Empty>}
      <div className="messages" data-testid="messages" ref={list}>
        {messages.map((m, i) => (
          <Fragment key={`${m.direction}-${m.id}`}>
            <div className="msg-wrap">
              {i === dividerBefore && (
                <div className="divider" data-testid="reset-divider">
                  <span>
                    history reset {s?.contextResetAt ? time(s.contextResetAt) : ''}: the assistant forgot what came
                    before
                  </span>
                </div>
              )}
              <div
                className={`msg msg-${m.direction} msg-${m.author}`}
                data-testid={`msg-${m.direction}`}
                data-author={m.author}
              >
                {m.direction === 'out' && m.author !== 'assistant' && (
                  <div className="msg-author" data-testid="msg-author">
                    {AUTHOR[m.author]}
                    {m.template && ` · template ${m.template.name} (${m.template.language})`}
                  </div>
                )}
                {m.direction === 'out' && m.author === 'assistant' && m.template && (
                  <div className="msg-author">sent as template {m.template.name}</div>
                )}
                <MessageText m={m} />
                {m.media && (
                  <div className="msg-media" data-testid="msg-media">
                    <span className="muted">
                      {m.media.kind}
                      {m.media.fileName ? ` · ${m.media.fileName}` : ''}
                      {m.media.bytes !== null ? ` · ${formatSize(m.media.bytes)}` : ''} · {m.media.outcome}
                      {m.media.truncated ? ' · truncated' : ''}
                    </span>
                    {m.media.text && <div className="msg-derived">{m.media.text}</div>}
                  </div>
                )}
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
            </div>
            {m.direction === 'in' && toolsByInbox.get(m.id)?.map((c) => <ToolCallItem key={`tool-${c.id}`} c={c} />)}
          </Fragment>
        ))}
      </div>
      {s && (
        <Composer
          s={s}
          onSent={(what) => {
            stick.current = true;
            setNotice(what);
            res.reload();
          }}
        />
      )}
    </div>
  );
}

/** 1234 → "1.2 KB". */
function formatSize(n: number): string {
  if (n >= 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${n} B`;
}
