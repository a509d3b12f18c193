/**
 * Time-to-reply of a load run: from the moment WADI accepted a chat message (its webhook answered
 * 2xx) to the moment the sandbox's fake platform accepted the reply (the call's `at` in
 * /sandbox/outbox), per channel. Both clocks are this machine's (load targets are 127.0.0.1).
 * A reply answers the messages of its chat it echoes: the sandbox LLM answers `[sandbox] <last user
 * text>` and load messages say `hola <n>`, so a reply naming n answers every earlier message of
 * that chat up to n (a coalesced burst). Replies that name none (offline assistant, notices)
 * answer every earlier unanswered message of their chat.
 */
import { percentile } from './runner.ts';

/** A chat message WADI accepted. */
export interface AcceptedMessage {
  readonly channel: 'whatsapp' | 'telegram';
  readonly chat: string;
  readonly n: number;
  /** Epoch ms of the 2xx. */
  readonly at: number;
  /** Index of the stage it was sent in. */
  readonly stage: number;
  /** A voice note or an image (undefined: a text). */
  readonly media?: 'voice' | 'image';
}

/** A reply the fake platform accepted. */
export interface PlatformReply {
  readonly channel: 'whatsapp' | 'telegram';
  readonly chat: string;
  readonly at: number;
  readonly text: string;
}

/** Figures for one channel (ms). */
export interface TimeToReply {
  readonly messages: number;
  readonly answered: number;
  readonly p50Ms: number | null;
  readonly p95Ms: number | null;
  readonly maxMs: number | null;
}

/** Per message: ms until its reply, or null when none came. */
export function matchReplies(
  accepted: readonly AcceptedMessage[],
  replies: readonly PlatformReply[],
): (number | null)[] {
  const out: (number | null)[] = accepted.map(() => null);
  const byChat = new Map<string, number[]>();
  accepted.forEach((m, i) => {
    const k = `${m.channel}:${m.chat}`;
    const list = byChat.get(k) ?? [];
    list.push(i);
    byChat.set(k, list);
  });
  for (const list of byChat.values()) list.sort((a, b) => accepted[a].n - accepted[b].n);
  const sorted = [...replies].sort((a, b) => a.at - b.at);
  for (const r of sorted) {
    const list = byChat.get(`${r.channel}:${r.chat}`);
    if (!list) continue;
    const echoed = /hola (\d+)/.exec(r.text);
    const upTo = echoed ? Number(echoed[1]) : Number.POSITIVE_INFINITY;
    for (const i of list) {
      const m = accepted[i];
      if (out[i] !== null || m.n > upTo || m.at > r.at) continue;
      out[i] = r.at - m.at;
    }
  }
  return out;
}

/** Summary of some messages' times. */
export function summarizeTtr(times: readonly (number | null)[]): TimeToReply {
  const done = times.filter((t): t is number => t !== null).sort((a, b) => a - b);
  const r = (v: number | null) => (v === null ? null : Math.round(v));
  return {
    messages: times.length,
    answered: done.length,
    p50Ms: r(percentile(done, 50)),
    p95Ms: r(percentile(done, 95)),
    maxMs: r(done.at(-1) ?? null),
  };
}

/** The sandbox's record of the replies WADI sent after sequence number `afterSeq`, and the last seq seen. */
export async function platformReplies(
  url: string,
  afterSeq: number,
): Promise<{ replies: PlatformReply[]; lastSeq: number } | null> {
  const out: PlatformReply[] = [];
  let lastSeq = afterSeq;
  for (const channel of ['whatsapp', 'telegram'] as const) {
    try {
      const res = await fetch(`${url}/sandbox/outbox?channel=${channel}&after=${afterSeq}`, {
        signal: AbortSignal.timeout(30_000),
      });
      if (!res.ok) return null;
      const { calls } = (await res.json()) as {
        calls: { seq: number; kind: string; at: string; status: number; body: Record<string, unknown> }[];
      };
      for (const c of calls) {
        lastSeq = Math.max(lastSeq, c.seq);
        if (c.status !== 200) continue;
        if (channel === 'whatsapp' && c.kind === 'send_text') {
          const text = (c.body.text as { body?: string } | undefined)?.body ?? '';
          out.push({ channel, chat: String(c.body.to).replace(/^\+/, ''), at: Date.parse(c.at), text });
        } else if (channel === 'telegram' && c.kind === 'sendMessage') {
          out.push({ channel, chat: String(c.body.chat_id), at: Date.parse(c.at), text: String(c.body.text ?? '') });
        }
      }
    } catch {
      return null;
    }
  }
  return { replies: out, lastSeq };
}

/**
 * Collects the replies until every accepted message is answered or `maxSeconds` pass (the last
 * turns of a run finish after it); returns each message's time-to-reply (null: no reply).
 */
export async function collectTimeToReply(
  url: string,
  afterSeq: number,
  accepted: readonly AcceptedMessage[],
  maxSeconds: number,
): Promise<(number | null)[] | null> {
  const replies: PlatformReply[] = [];
  let seq = afterSeq;
  const deadline = Date.now() + maxSeconds * 1000;
  for (;;) {
    const got = await platformReplies(url, seq);
    if (!got) return null;
    replies.push(...got.replies);
    seq = got.lastSeq;
    const times = matchReplies(accepted, replies);
    if (times.every((t) => t !== null) || Date.now() >= deadline) return times;
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** The sandbox's last call sequence number (null when the target is not in sandbox mode). */
export async function sandboxSeq(url: string): Promise<number | null> {
  try {
    const res = await fetch(`${url}/sandbox/outbox?summary=1`, { signal: AbortSignal.timeout(5000) });
    if (!res.ok) return null;
    const body = (await res.json()) as { summary?: { last?: { seq?: number } } };
    return body.summary?.last?.seq ?? 0;
  } catch {
    return null;
  }
}

/**
 * Chat completions the sandbox's fake LLM answered after `afterSeq` (null when the target is not
 * in sandbox mode). Zero while replies went out means the target's assistant is not the fake LLM
 * (WADI_SANDBOX_LLM off: the offline assistant answers at once), so no LLM latency applied.
 */
export async function sandboxLlmCalls(url: string, afterSeq: number): Promise<number | null> {
  try {
    // count=1: only the number, not every chat request's body serialized by the target.
    const res = await fetch(`${url}/sandbox/outbox?channel=llm&after=${afterSeq}&count=1`, {
      signal: AbortSignal.timeout(10_000),
    });
    if (!res.ok) return null;
    const body = (await res.json()) as { count?: number; calls?: unknown[] };
    return body.count ?? body.calls?.length ?? 0;
  } catch {
    return null;
  }
}
