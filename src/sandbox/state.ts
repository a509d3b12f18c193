/**
 * Shared state of the sandbox fakes: every call they received (for GET /sandbox/outbox) and the
 * faults queued for them (POST /sandbox/faults). Each fake (graph-api.ts, bot-api.ts, openai.ts)
 * records its calls here and asks for a fault before answering.
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
  private readonly log: SandboxCall[] = [];
  private readonly faults: SandboxFault[] = [];
  private seq = 0;
  private readonly maxCalls: number;

  constructor(maxCalls = 50_000) {
    this.maxCalls = maxCalls;
  }

  /** Records a call; returns it with its sequence number. */
  record(call: Omit<SandboxCall, 'seq' | 'at'>): SandboxCall {
    const c: SandboxCall = { ...call, seq: ++this.seq, at: new Date().toISOString() };
    this.log.push(c);
    if (this.log.length > this.maxCalls) this.log.splice(0, this.log.length - this.maxCalls);
    return c;
  }

  /** Calls received, oldest first, optionally for one channel and after a sequence number. */
  calls(channel?: SandboxChannel, afterSeq = 0): SandboxCall[] {
    return this.log.filter((c) => (!channel || c.channel === channel) && c.seq > afterSeq);
  }

  /** How many calls of each kind each channel received, and the last sequence number. */
  summary(): Record<string, Record<string, number>> {
    const out: Record<string, Record<string, number>> = {};
    for (const c of this.log) {
      out[c.channel] ??= {};
      out[c.channel][c.kind] = (out[c.channel][c.kind] ?? 0) + 1;
    }
    out.last = { seq: this.seq };
    return out;
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
    this.log.length = 0;
    this.faults.length = 0;
    this.customerWindows.reset();
  }
}
