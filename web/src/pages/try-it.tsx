/**
 * Try it (sandbox only): chat with WADI as a WhatsApp or Telegram user. Messages go through the
 * real webhook path (signed like the platform signs them); replies are what the fake platform API
 * received from WADI.
 */
import { type FormEvent, useEffect, useRef, useState } from 'react';
import { api, explain } from '../api.ts';
import { Empty } from '../components.tsx';
import { time } from '../format.ts';
import { navigate } from '../router.ts';
import type { ChannelName, SandboxReplies, SandboxSent, SessionPage } from '../types.ts';

type Channel = ChannelName;
interface Bubble {
  key: string;
  who: 'me' | 'wadi';
  text: string;
  at: string;
}

const DEFAULT_FROM: Record<Channel, string> = { whatsapp: '34600000001', telegram: '100200300' };

/** The Try it page. */
export function TryIt() {
  const [channel, setChannel] = useState<Channel>('whatsapp');
  const [from, setFrom] = useState(DEFAULT_FROM.whatsapp);
  const [name, setName] = useState('Ana Sandbox');
  const [text, setText] = useState('');
  const [bubbles, setBubbles] = useState<Bubble[]>([]);
  const [error, setError] = useState<string>();
  const [sending, setSending] = useState(false);
  const after = useRef(0);
  const [polling, setPolling] = useState(false);

  // A new chat (channel or sender changed) starts an empty transcript.
  // biome-ignore lint/correctness/useExhaustiveDependencies: reset on chat change
  useEffect(() => {
    setBubbles([]);
    after.current = 0;
    setPolling(false);
  }, [channel, from]);

  useEffect(() => {
    if (!polling) return;
    let stopped = false;
    let timer: ReturnType<typeof setTimeout>;
    const poll = async () => {
      try {
        const r = await api<SandboxReplies>(
          `/sandbox/replies?channel=${channel}&chat=${encodeURIComponent(from)}&after=${after.current}`,
        );
        if (stopped) return;
        after.current = r.lastSeq;
        if (r.replies.length > 0)
          setBubbles((b) => [
            ...b,
            ...r.replies.map((x) => ({ key: `r${x.seq}`, who: 'wadi' as const, text: x.text, at: x.at })),
          ]);
      } catch (e) {
        if (!stopped) setError(explain(e));
      }
      if (!stopped) timer = setTimeout(poll, 1000);
    };
    void poll();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [polling, channel, from]);

  const send = async (e: FormEvent) => {
    e.preventDefault();
    if (!text.trim()) return;
    setSending(true);
    setError(undefined);
    try {
      const r = await api<SandboxSent>('/sandbox/send', {
        method: 'POST',
        body: { channel, from, name, text },
      });
      if (!polling) after.current = r.afterSeq;
      setBubbles((b) => [...b, { key: r.externalId, who: 'me', text, at: new Date().toISOString() }]);
      setText('');
      setPolling(true);
    } catch (err) {
      setError(
        `${explain(err)} ${
          (err as { code?: string }).code === 'webhook_rejected'
            ? '(the message was not accepted by WADI’s webhook, so nothing was stored)'
            : ''
        }`,
      );
    } finally {
      setSending(false);
    }
  };

  const openConversation = async () => {
    try {
      const r = await api<SessionPage>(`/sessions?channel=${channel}&q=${encodeURIComponent(from)}&limit=5`);
      const s = r.items.find((x) => x.chatId === from);
      if (s) navigate(`/ui/conversations/${s.id}`);
      else setError('That conversation is not stored yet: send a message first.');
    } catch (err) {
      setError(explain(err));
    }
  };

  return (
    <div className="tryit">
      <p className="muted">
        Sandbox: your message goes through WADI’s real {channel === 'whatsapp' ? 'WhatsApp' : 'Telegram'} webhook,
        signed as the platform would sign it. Replies are what WADI sent to the fake platform API. Nothing leaves this
        machine.
      </p>
      <div className="toolbar">
        <select
          value={channel}
          onChange={(e) => {
            const c = e.target.value as Channel;
            setChannel(c);
            setFrom(DEFAULT_FROM[c]);
          }}
          aria-label="channel"
          data-testid="try-channel"
        >
          <option value="whatsapp">WhatsApp</option>
          <option value="telegram">Telegram</option>
        </select>
        <label>
          {channel === 'whatsapp' ? 'Phone (wa_id)' : 'User id'}{' '}
          <input
            value={from}
            onChange={(e) => setFrom(e.target.value.replace(/\D/g, ''))}
            size={14}
            data-testid="try-from"
          />
        </label>
        <label>
          Name <input value={name} onChange={(e) => setName(e.target.value)} size={14} />
        </label>
        <button type="button" className="secondary" onClick={openConversation} data-testid="open-conversation">
          Open in Conversations
        </button>
      </div>
      <div className="chat" data-testid="chat">
        {bubbles.length === 0 && <Empty>Write something below to start a conversation with WADI.</Empty>}
        {bubbles.map((b) => (
          <div key={b.key} className={`bubble bubble-${b.who}`} data-testid={`bubble-${b.who}`}>
            <div>{b.text}</div>
            <div className="muted">{time(b.at)}</div>
          </div>
        ))}
        {polling && bubbles.length > 0 && bubbles[bubbles.length - 1].who === 'me' && (
          <div className="muted">waiting for WADI’s reply…</div>
        )}
      </div>
      {error && (
        <div className="note note-error" role="alert">
          {error}
        </div>
      )}
      <form className="composer" onSubmit={send}>
        <input
          value={text}
          onChange={(e) => setText(e.target.value)}
          placeholder="Type a message"
          aria-label="message"
          maxLength={4096}
          data-testid="try-text"
        />
        <button type="submit" disabled={sending || !text.trim() || !from} data-testid="try-send">
          Send
        </button>
      </form>
    </div>
  );
}
