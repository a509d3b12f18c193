/**
 * Try it (sandbox only): chat with WADI as a WhatsApp or Telegram user. Messages go through the
 * real webhook path (signed like the platform signs them); replies are what the fake platform API
 * accepted from WADI (a faulted or refused attempt is not shown). A file attached here goes into
 * the sandbox's media store and the message carries its media id, so the worker downloads,
 * transcribes or reads it from the fake Graph API / Bot API as it would in production.
 *
 * The transcript of each chat lives in sessionStorage: it survives moving to another page of the
 * dashboard and reloads, and replies that arrived meanwhile are fetched on return.
 */
import { type FormEvent, useEffect, useRef, useState } from 'react';
import { api, explain } from '../api.ts';
import { Empty } from '../components.tsx';
import { time } from '../format.ts';
import { navigate } from '../router.ts';
import type { ChannelName, SandboxMedia, SandboxReplies, SandboxSent, SessionPage } from '../types.ts';

type Channel = ChannelName;
type MediaKind = 'voice' | 'image' | 'document';
interface Bubble {
  key: string;
  who: 'me' | 'wadi';
  text: string;
  at: string;
  /** "voice note · nota.ogg · 12.3 KB" for a message sent with a file. */
  media?: string;
}
interface Transcript {
  /** `channel:from`, the chat this transcript belongs to. */
  chat: string;
  bubbles: Bubble[];
  /** Replies up to this sandbox call sequence number are in `bubbles`. */
  after: number;
  /** Whether replies are being awaited (a message was sent). */
  polling: boolean;
}

/** WhatsApp's and Telegram's limit for one text message (and WADI's for a Try it message). */
export const MAX_TEXT = 4096;
/** The server's limit for a Try it file (Telegram's Bot API serves files up to 20 MB). */
const MAX_FILE = 20 * 1024 * 1024;
const DEFAULT_FROM: Record<Channel, string> = { whatsapp: '34600000001', telegram: '100200300' };
const CHAT_KEY = 'wadi.tryit.chat';
const KIND_LABEL: Record<MediaKind, string> = { voice: 'voice note', image: 'image', document: 'document' };
/** Types browsers often leave empty (Markdown, CSV on some systems, Opus). */
const BY_EXTENSION: Record<string, string> = {
  md: 'text/markdown',
  csv: 'text/csv',
  txt: 'text/plain',
  pdf: 'application/pdf',
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  ogg: 'audio/ogg',
  oga: 'audio/ogg',
  opus: 'audio/ogg',
  m4a: 'audio/mp4',
};

function transcriptKey(channel: Channel, from: string): string {
  return `wadi.tryit.${channel}.${from}`;
}

function loadTranscript(channel: Channel, from: string): Transcript {
  const chat = `${channel}:${from}`;
  try {
    const raw = sessionStorage.getItem(transcriptKey(channel, from));
    if (raw) {
      const t = JSON.parse(raw) as Transcript;
      if (Array.isArray(t.bubbles) && Number.isInteger(t.after)) return { ...t, chat, polling: t.polling === true };
    }
  } catch {
    // A damaged entry starts a new transcript.
  }
  return { chat, bubbles: [], after: 0, polling: false };
}

function saveTranscript(t: Transcript): void {
  const [channel, from] = t.chat.split(':') as [Channel, string];
  try {
    sessionStorage.setItem(transcriptKey(channel, from), JSON.stringify(t));
  } catch {
    // Storage full or disabled: the transcript lives as long as the page.
  }
}

function loadChat(): { channel: Channel; from: string; name: string } {
  try {
    const c = JSON.parse(sessionStorage.getItem(CHAT_KEY) ?? 'null') as {
      channel?: string;
      from?: string;
      name?: string;
    } | null;
    if (c && (c.channel === 'whatsapp' || c.channel === 'telegram') && typeof c.from === 'string')
      return { channel: c.channel, from: c.from, name: typeof c.name === 'string' ? c.name : 'Ana Sandbox' };
  } catch {
    // fall through to the defaults
  }
  return { channel: 'whatsapp', from: DEFAULT_FROM.whatsapp, name: 'Ana Sandbox' };
}

/** The file's type, from the browser or its extension. */
function fileType(f: File): string {
  if (f.type) return f.type;
  const ext = f.name.split('.').pop()?.toLowerCase() ?? '';
  return BY_EXTENSION[ext] ?? 'application/octet-stream';
}

/** How WhatsApp and Telegram would send this file: audio as a voice note, images as a photo, the rest as a document. */
function kindOf(type: string): MediaKind {
  if (type.startsWith('audio/')) return 'voice';
  if (type.startsWith('image/')) return 'image';
  return 'document';
}

function size(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

/** The Try it page. */
export function TryIt() {
  const initial = useRef(loadChat()).current;
  const [channel, setChannel] = useState<Channel>(initial.channel);
  const [from, setFrom] = useState(initial.from);
  const [name, setName] = useState(initial.name);
  const [text, setText] = useState('');
  const [file, setFile] = useState<File>();
  const [kind, setKind] = useState<MediaKind>('voice');
  const [transcript, setTranscript] = useState<Transcript>(() => loadTranscript(initial.channel, initial.from));
  const [error, setError] = useState<string>();
  const [sending, setSending] = useState(false);
  const chatRef = useRef<HTMLDivElement>(null);
  const fileRef = useRef<HTMLInputElement>(null);
  const chatId = `${channel}:${from}`;
  const after = useRef(transcript.after);
  after.current = transcript.after;

  // Another chat (channel or sender changed): its own stored transcript, or an empty one.
  useEffect(() => {
    setTranscript((old) => (old.chat === chatId ? old : loadTranscript(channel, from)));
  }, [chatId, channel, from]);

  useEffect(() => {
    sessionStorage.setItem(CHAT_KEY, JSON.stringify({ channel, from, name }));
  }, [channel, from, name]);

  // Every change is kept, so another page of the dashboard or a reload finds it.
  useEffect(() => saveTranscript(transcript), [transcript]);

  // The newest message in view.
  const count = transcript.bubbles.length;
  useEffect(() => {
    const el = chatRef.current;
    if (el && count > 0) el.scrollTop = el.scrollHeight;
  }, [count]);

  const polling = transcript.polling && transcript.chat === chatId;
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
        setTranscript((old) => {
          // A late answer never lands in another chat's transcript.
          if (old.chat !== chatId) return old;
          const seen = new Set(old.bubbles.map((b) => b.key));
          const fresh = r.replies
            .filter((x) => !seen.has(`r${x.seq}`))
            .map((x) => ({ key: `r${x.seq}`, who: 'wadi' as const, text: x.text, at: x.at }));
          return { ...old, after: Math.max(old.after, r.lastSeq), bubbles: [...old.bubbles, ...fresh] };
        });
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
  }, [polling, chatId, channel, from]);

  const pick = (f: File | undefined) => {
    setError(undefined);
    if (!f) {
      setFile(undefined);
      return;
    }
    if (f.size === 0) {
      setError(`${f.name} is empty.`);
      return;
    }
    if (f.size > MAX_FILE) {
      setError(`${f.name} is ${size(f.size)}; Try it attaches files up to ${size(MAX_FILE)}.`);
      if (fileRef.current) fileRef.current.value = '';
      return;
    }
    setFile(f);
    setKind(kindOf(fileType(f)));
  };

  const clearFile = () => {
    setFile(undefined);
    if (fileRef.current) fileRef.current.value = '';
  };

  const send = async (e: FormEvent) => {
    e.preventDefault();
    if (!text.trim() && !file) return;
    setSending(true);
    setError(undefined);
    try {
      let media: { id: string; kind: MediaKind } | undefined;
      let label: string | undefined;
      if (file) {
        const type = fileType(file);
        const up = await api<SandboxMedia>(`/sandbox/media?filename=${encodeURIComponent(file.name.slice(0, 255))}`, {
          method: 'POST',
          file: { bytes: file, type },
        });
        media = { id: up.id, kind };
        label = `${KIND_LABEL[kind]} · ${file.name} · ${size(up.size)}`;
      }
      const r = await api<SandboxSent>('/sandbox/send', {
        method: 'POST',
        body: { channel, from, name, text, ...(media ? { media } : {}) },
      });
      const sent = text;
      setTranscript((old) => ({
        chat: old.chat,
        after: old.polling ? old.after : Math.max(old.after, r.afterSeq),
        polling: true,
        bubbles: [
          ...old.bubbles,
          {
            key: r.externalId,
            who: 'me',
            text: sent,
            at: new Date().toISOString(),
            ...(label ? { media: label } : {}),
          },
        ],
      }));
      setText('');
      clearFile();
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

  const clearTranscript = () => {
    setTranscript((old) => ({ ...old, bubbles: [] }));
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

  const bubbles = transcript.bubbles;
  const length = text.length;
  return (
    <div className="tryit">
      <p className="muted">
        Sandbox: your message goes through WADI’s real {channel === 'whatsapp' ? 'WhatsApp' : 'Telegram'} webhook,
        signed as the platform would sign it; an attached file is served to WADI by the fake{' '}
        {channel === 'whatsapp' ? 'Graph API' : 'Bot API'}. Replies are what the fake platform API accepted from WADI.
        Nothing leaves this machine.
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
        {bubbles.length > 0 && (
          <button type="button" className="secondary" onClick={clearTranscript} data-testid="try-clear">
            Clear transcript
          </button>
        )}
      </div>
      <div className="chat" data-testid="chat" ref={chatRef}>
        {bubbles.length === 0 && (
          <Empty>Write something below, or attach a voice note, an image or a document, to talk to WADI.</Empty>
        )}
        {bubbles.map((b) => (
          <div key={b.key} className={`bubble bubble-${b.who}`} data-testid={`bubble-${b.who}`}>
            {b.media && (
              <div className="muted" data-testid="bubble-media">
                {b.media}
              </div>
            )}
            {b.text && <div>{b.text}</div>}
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
          placeholder={file ? 'Caption (optional)' : 'Type a message'}
          aria-label="message"
          maxLength={MAX_TEXT}
          aria-describedby="try-count"
          data-testid="try-text"
        />
        <button type="submit" disabled={sending || (!text.trim() && !file) || !from} data-testid="try-send">
          {sending ? 'Sending…' : 'Send'}
        </button>
      </form>
      <div className="toolbar">
        <span
          id="try-count"
          className={length > MAX_TEXT - 96 ? 'note-warn' : 'muted'}
          data-testid="try-count"
          aria-live="polite"
        >
          {length} / {MAX_TEXT} characters
        </span>
        <label>
          Attach{' '}
          <input
            ref={fileRef}
            type="file"
            accept="audio/*,image/*,.pdf,.docx,.txt,.md,.csv"
            onChange={(e) => pick(e.target.files?.[0])}
            data-testid="try-file"
          />
        </label>
        {file && (
          <>
            <label>
              as{' '}
              <select
                value={kind}
                onChange={(e) => setKind(e.target.value as MediaKind)}
                aria-label="send the file as"
                data-testid="try-kind"
              >
                <option value="voice">voice note</option>
                <option value="image">image</option>
                <option value="document">document</option>
              </select>
            </label>
            <span className="muted" data-testid="try-attachment">
              {file.name} · {size(file.size)}
            </span>
            <button type="button" className="secondary" onClick={clearFile} data-testid="try-file-remove">
              Remove
            </button>
          </>
        )}
      </div>
    </div>
  );
}
