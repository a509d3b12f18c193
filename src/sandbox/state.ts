/**
 * Shared state of the sandbox fakes: the calls they received (for GET /sandbox/outbox) and the
 * faults queued for them (POST /sandbox/faults). Each fake (graph-api.ts, bot-api.ts, openai.ts)
 * records its calls here and asks for a fault before answering.
 *
 * The call log is bounded, because the sandbox runs inside `wadi start` for as long as it runs:
 * the most recent calls keep their whole body (up to `maxBodyBytes` of it: what tests and the
 * dashboard read); older ones keep their metadata and a compacted body (long strings such as the
 * chat requests' base64 images and system prompts cut, a chat request reduced to its model and
 * message roles); past `maxBytes` or `maxCalls` the oldest calls are forgotten. The per-kind
 * counts of summary() still count every call since the last reset.
 */

import { SANDBOX_CREDENTIALS } from '../config/config.ts';
import type { TemplateBook } from '../config/templates.ts';
import type { DeliveryReports } from './delivery-reports.ts';
import { CustomerWindows } from './graph-templates.ts';
import { INSTANT, type LatencyModel } from './latency.ts';

/** The fakes: WhatsApp Graph API, Telegram Bot API, OpenAI-compatible API. */
export type SandboxChannel = 'whatsapp' | 'telegram' | 'llm';

/** One call a fake received, as listed by /sandbox/outbox. */
export interface SandboxCall {
  readonly seq: number;
  readonly channel: SandboxChannel;
  /** What the call did: send_text, mark_read, typing, sendMessage, sendChatAction, chat_completion… */
  readonly kind: string;
  readonly method: string;
  readonly path: string;
  readonly body: unknown;
  readonly at: string;
  /** HTTP status the fake answered. */
  readonly status: number;
  /** Platform id the fake returned (wamid, message_id), if any. */
  readonly platformMessageId?: string;
  /** LLM only: how long the latency model made this completion take (ms). */
  readonly latencyMs?: number;
  /** Set once the body was compacted (the call aged past the log's body budget): its size before. */
  readonly compactedFromBytes?: number;
}

/** Bounds of the call log (see the file's comment). */
export interface SandboxLogLimits {
  /** Calls kept at most (default 50,000). */
  readonly maxCalls?: number;
  /** Approximate bytes of the most recent calls' bodies kept whole (default 4 MiB). */
  readonly maxBodyBytes?: number;
  /** Approximate bytes of the whole log, compacted calls included (default 16 MiB). */
  readonly maxBytes?: number;
}

/** Strings longer than this are cut in a compacted body. */
const COMPACT_STRING_CHARS = 256;
/** What one call costs besides its body's strings (object, metadata strings), roughly. */
const CALL_OVERHEAD_BYTES = 200;

/** Rough size of a JSON-like value: its strings' lengths plus a few bytes per field. */
export function approxBytes(v: unknown, depth = 0): number {
  if (typeof v === 'string') return v.length;
  if (v === null || typeof v !== 'object') return 8;
  if (depth > 16) return 0;
  let n = 16;
  if (Array.isArray(v)) for (const x of v) n += 8 + approxBytes(x, depth + 1);
  else for (const [k, x] of Object.entries(v)) n += 8 + k.length + approxBytes(x, depth + 1);
  return n;
}

function compactValue(v: unknown, depth = 0): unknown {
  if (typeof v === 'string')
    return v.length > COMPACT_STRING_CHARS
      ? `${v.slice(0, COMPACT_STRING_CHARS)}…[${v.length - COMPACT_STRING_CHARS} more characters not kept]`
      : v;
  if (v === null || typeof v !== 'object') return v;
  if (depth > 8) return '[not kept]';
  if (Array.isArray(v)) return v.map((x) => compactValue(x, depth + 1));
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, compactValue(x, depth + 1)]));
}

/**
 * The body an aged call keeps: a chat request keeps its model and its messages' roles (its
 * history, images and system prompt are what made the log grow), any other body its fields with
 * long strings cut.
 */
export function compactBody(channel: SandboxChannel, kind: string, body: unknown): unknown {
  if (channel === 'llm' && kind === 'chat_completion' && body && typeof body === 'object') {
    const b = body as { model?: unknown; messages?: unknown };
    return {
      model: compactValue(b.model),
      messages: Array.isArray(b.messages)
        ? b.messages.map((m) => ({ role: compactValue((m as { role?: unknown } | null)?.role) }))
        : undefined,
    };
  }
  return compactValue(body);
}

interface Entry {
  call: SandboxCall;
  /** approxBytes of the body as kept now, plus CALL_OVERHEAD_BYTES. */
  bytes: number;
}

/** OpenAI-compatible servers whose "context too long" answer the fake can reproduce. */
export const CONTEXT_LENGTH_FLAVORS = ['openai', 'azure', 'vllm', 'llamacpp', 'ollama', 'lmstudio'] as const;
/** One of CONTEXT_LENGTH_FLAVORS. */
export type ContextLengthFlavor = (typeof CONTEXT_LENGTH_FLAVORS)[number];

/** A fault to inject into the next calls of a fake. */
export interface SandboxFault {
  readonly channel: SandboxChannel;
  /** HTTP status to answer with (default: the platform's usual status for `code`). */
  readonly status?: number;
  /** Platform error code (WhatsApp 130429, 131047…; Telegram error_code). */
  readonly code?: number;
  /** Seconds to ask the caller to wait (Telegram parameters.retry_after, Retry-After header). */
  readonly retry_after?: number;
  /** How many calls fail (default 1). */
  count: number;
  /** Delay before answering, ms (with no status/code: a slow success; with a large value: a timeout). */
  readonly delay_ms?: number;
  /** Only calls of this kind fail (e.g. "send_text", "sendMessage", "chat_completion"). */
  readonly kind?: string;
  /** LLM only: text of the answer instead of an error. */
  readonly text?: string;
  /** Telegram only: the error description to answer with (e.g. "Bad Request: can't parse entities: …"). */
  readonly description?: string;
  /**
   * LLM only: answer 400 "context too long" in the words of this server (OpenAI's
   * `context_length_exceeded`, Azure, vLLM, llama.cpp, Ollama, LM Studio).
   */
  readonly context_length?: ContextLengthFlavor;
}

/** The tokens a fake checks, like the real platform would. */
export interface SandboxCredentials {
  whatsappAccessToken: string;
  whatsappPhoneNumberId: string;
  telegramBotToken: string;
}

/** Calls and faults of all fakes in one process. */
export class SandboxState {
  /**
   * The upstream credentials the fakes accept: the built-in sandbox values, or (for `wadi sandbox`
   * standing in for Meta and Telegram in front of a production-mode WADI, which refuses the public
   * built-in values) the ones given with `wadi sandbox --whatsapp-access-token …`.
   */
  credentials: SandboxCredentials = {
    whatsappAccessToken: SANDBOX_CREDENTIALS.whatsappAccessToken,
    whatsappPhoneNumberId: SANDBOX_CREDENTIALS.whatsappPhoneNumberId,
    telegramBotToken: SANDBOX_CREDENTIALS.telegramBotToken,
  };
  /** When each WhatsApp user last wrote, as far as the fake knows (24 h window checks). */
  /** Delivery-status webhooks after accepted WhatsApp sends; unset: none are sent. */
  deliveryReports?: DeliveryReports;
  readonly customerWindows = new CustomerWindows();
  /** The templates the fake Graph API treats as approved (WHATSAPP_TEMPLATES_FILE); undefined: any well-formed one. */
  approvedTemplates: TemplateBook | undefined;
  /** How slow the fake LLM answers (PUT /sandbox/llm/latency; `wadi sandbox --llm-*`). */
  llmLatency: LatencyModel = INSTANT;
  /** The log, oldest first, from index `head` on (dropping the oldest is O(1); see forget()). */
  private log: Entry[] = [];
  private head = 0;
  /** Index of the oldest call whose body is still whole (those before it are compacted). */
  private whole = 0;
  private wholeBodyBytes = 0;
  private logBytes = 0;
  private counts: Record<string, Record<string, number>> = {};
  private readonly faults: SandboxFault[] = [];
  private seq = 0;
  private readonly maxCalls: number;
  private readonly maxBodyBytes: number;
  private readonly maxBytes: number;

  constructor(limits: SandboxLogLimits = {}) {
    this.maxCalls = limits.maxCalls ?? 50_000;
    this.maxBodyBytes = limits.maxBodyBytes ?? 4 * 1024 * 1024;
    this.maxBytes = Math.max(limits.maxBytes ?? 16 * 1024 * 1024, this.maxBodyBytes);
  }

  /** Records a call; returns it with its sequence number (as recorded: its body whole). */
  record(call: Omit<SandboxCall, 'seq' | 'at'>): SandboxCall {
    const c: SandboxCall = { ...call, seq: ++this.seq, at: new Date().toISOString() };
    const bytes = CALL_OVERHEAD_BYTES + approxBytes(c.body);
    this.log.push({ call: c, bytes });
    this.wholeBodyBytes += bytes;
    this.logBytes += bytes;
    this.counts[c.channel] ??= {};
    this.counts[c.channel][c.kind] = (this.counts[c.channel][c.kind] ?? 0) + 1;
    // The newest call stays whole whatever its size: the caller that made it may read it next.
    while (this.wholeBodyBytes > this.maxBodyBytes && this.whole < this.log.length - 1) this.compactOldestWhole();
    while ((this.logBytes > this.maxBytes || this.log.length - this.head > this.maxCalls) && this.size > 1)
      this.forgetOldest();
    return c;
  }

  /** Calls kept, oldest first, optionally for one channel and after a sequence number. */
  calls(channel?: SandboxChannel, afterSeq = 0): SandboxCall[] {
    // Sequence numbers grow along the log: start at the first one past afterSeq.
    let lo = this.head;
    let hi = this.log.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.log[mid].call.seq <= afterSeq) lo = mid + 1;
      else hi = mid;
    }
    const out: SandboxCall[] = [];
    for (let i = lo; i < this.log.length; i++) {
      const c = this.log[i].call;
      if (!channel || c.channel === channel) out.push(c);
    }
    return out;
  }

  /** How many calls of each kind each channel received since the last reset, and the last sequence number. */
  summary(): Record<string, Record<string, number>> {
    const out: Record<string, Record<string, number>> = {};
    for (const [ch, kinds] of Object.entries(this.counts)) out[ch] = { ...kinds };
    out.last = { seq: this.seq };
    return out;
  }

  /** What the log holds now: calls kept, whole bodies, approximate bytes (for tests and benches). */
  logStats(): { calls: number; wholeBodies: number; wholeBodyBytes: number; bytes: number; oldestSeq: number | null } {
    return {
      calls: this.size,
      wholeBodies: this.log.length - this.whole,
      wholeBodyBytes: this.wholeBodyBytes,
      bytes: this.logBytes,
      oldestSeq: this.size > 0 ? this.log[this.head].call.seq : null,
    };
  }

  private get size(): number {
    return this.log.length - this.head;
  }

  private compactOldestWhole(): void {
    const e = this.log[this.whole++];
    const body = compactBody(e.call.channel, e.call.kind, e.call.body);
    const bytes = CALL_OVERHEAD_BYTES + approxBytes(body);
    this.wholeBodyBytes -= e.bytes;
    this.logBytes += bytes - e.bytes;
    e.call = { ...e.call, body, compactedFromBytes: e.bytes - CALL_OVERHEAD_BYTES };
    e.bytes = bytes;
  }

  private forgetOldest(): void {
    const e = this.log[this.head];
    this.logBytes -= e.bytes;
    if (this.whole <= this.head) {
      this.wholeBodyBytes -= e.bytes;
      this.whole = this.head + 1;
    }
    this.head++;
    // Shift the array down now and then, not on every call (that was O(n) per record).
    if (this.head > 1024 && this.head * 2 > this.log.length) {
      this.log = this.log.slice(this.head);
      this.whole -= this.head;
      this.head = 0;
    }
  }

  /** Queues a fault. */
  addFault(f: SandboxFault): void {
    this.faults.push({ ...f, count: f.count > 0 ? f.count : 1 });
  }

  /** The fault the next call of `channel`/`kind` must suffer, consuming one use of it. */
  takeFault(channel: SandboxChannel, kind?: string): SandboxFault | undefined {
    const i = this.faults.findIndex((f) => f.channel === channel && (!f.kind || f.kind === kind));
    if (i < 0) return undefined;
    const f = this.faults[i];
    f.count--;
    if (f.count <= 0) this.faults.splice(i, 1);
    return f;
  }

  /** Faults still queued. */
  pendingFaults(): readonly SandboxFault[] {
    return this.faults;
  }

  /** Forgets every call, fault and customer window. */
  reset(): void {
    this.log = [];
    this.head = 0;
    this.whole = 0;
    this.wholeBodyBytes = 0;
    this.logBytes = 0;
    this.counts = {};
    this.faults.length = 0;
    this.customerWindows.reset();
  }
}
