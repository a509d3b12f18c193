/**
 * The OpenAI-compatible adapter (OpenAI, Azure, Ollama, vLLM, OpenRouter… or the sandbox fake),
 * built on the official SDK with a request timeout and bounded retries. SDK errors are mapped to
 * the port's classes: network errors, timeouts, 429 and 5xx mean "unavailable" (keep the message
 * pending); "context too long" (in any compatible server's words) is its own class, so the turn
 * can retry with a shorter history; other 4xx mean this request was rejected. The SDK client itself is
 * built by openai-client.ts (shared with the transcriber).
 */
import type OpenAI from 'openai';
import { APIConnectionError, APIError, APIUserAbortError } from 'openai';
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import { metrics } from '../observability/metrics/metrics.ts';
import {
  type Assistant,
  AssistantContextTooLongError,
  AssistantRejectedError,
  type AssistantReply,
  type AssistantRequest,
  AssistantUnavailableError,
  type PromptMessage,
} from './assistant.ts';
import { type LlmGate, retryAfterMs } from './llm-gate.ts';
import { lazyOpenAiClient } from './openai-client.ts';

/** Adapter settings. */
export interface OpenAiAssistantOptions {
  readonly apiKey: string;
  /** Base URL, resolved at first use (the sandbox fake's port is known only once WADI listens). */
  readonly baseUrl: () => string | undefined;
  readonly model: string;
  readonly timeoutMs: number;
  readonly maxRetries: number;
  /** The system prompt (persona) for the locale. */
  readonly systemPrompt: (locale: 'es' | 'en') => string;
  /** Cap on one reply's tokens, sent as `max_tokens` (ASSISTANT_MAX_OUTPUT_TOKENS; 0 = no cap). */
  readonly maxOutputTokens?: number;
  /** LLM_MAX_CONCURRENCY and the provider backoff shared by every turn (see llm-gate.ts). */
  readonly gate?: LlmGate;
}

// What OpenAI-compatible servers say when the prompt does not fit: OpenAI and Azure send the code
// `context_length_exceeded`, llama.cpp the type `exceed_context_size_error`; vLLM, Ollama and LM
// Studio only say it in words (sandbox/openai.ts reproduces each one).
const CONTEXT_CODES = new Set(['context_length_exceeded', 'exceed_context_size_error', 'string_above_max_length']);
const CONTEXT_WORDS =
  /context[ _-]?length|context (size|window)|maximum model length|maximum context|context the overflows|exceeds the (available )?context|prompt is too long|too many tokens/i;

/**
 * Some compatible servers (vLLM before 0.7, LM Studio) answer errors without OpenAI's `{"error":
 * …}` envelope, and the SDK then drops the body and its message. Errors are rewrapped so their
 * words reach `isContextLengthError`; successful answers pass through untouched.
 */
async function wrapErrorBodies(input: string | URL | Request, init?: RequestInit): Promise<Response> {
  const res = await fetch(input, init);
  if (res.status < 400) return res;
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  const enveloped =
    typeof body === 'object' && body !== null && !Array.isArray(body) && 'error' in body
      ? text
      : JSON.stringify({ error: body === undefined ? { message: text } : body });
  const headers = new Headers(res.headers);
  headers.delete('content-length');
  headers.delete('content-encoding');
  headers.set('content-type', 'application/json');
  return new Response(enveloped, { status: res.status, statusText: res.statusText, headers });
}

/** True when an API error means "the prompt is longer than the model's context window". */
export function isContextLengthError(err: APIError): boolean {
  const status = err.status ?? 0;
  if (status !== 400 && status !== 413 && status !== 422) return false;
  const body = err.error as Record<string, unknown> | string | undefined;
  const inner = typeof body === 'object' && body !== null && typeof body.error === 'object' ? body.error : body;
  const fields = typeof inner === 'object' && inner !== null ? (inner as Record<string, unknown>) : {};
  for (const k of ['code', 'type']) if (typeof fields[k] === 'string' && CONTEXT_CODES.has(fields[k])) return true;
  const words = [
    err.message,
    typeof inner === 'string' ? inner : '',
    fields.message,
    (body as { message?: unknown })?.message,
  ];
  return words.some((w) => typeof w === 'string' && CONTEXT_WORDS.test(w));
}

/** Chat completions against any OpenAI-compatible server. */
export class OpenAiAssistant implements Assistant {
  readonly name = 'openai';
  private readonly sdk: () => OpenAI;
  private readonly opts: OpenAiAssistantOptions;

  constructor(opts: OpenAiAssistantOptions) {
    this.opts = opts;
    this.sdk = lazyOpenAiClient({ ...opts, fetch: opts.gate ? opts.gate.fetch(wrapErrorBodies) : wrapErrorBodies });
  }

  /** One chat completion; records duration and token usage. */
  async reply(req: AssistantRequest): Promise<AssistantReply> {
    const gate = this.opts.gate;
    if (!gate) return this.call(req);
    // Fail fast (turn postponed) when the provider asked everyone to wait longer than we would.
    await gate.beforeAttempt(req.signal);
    return gate.run(() => this.call(req), req.signal);
  }

  private async call(req: AssistantRequest): Promise<AssistantReply> {
    const started = performance.now();
    const observe = (outcome: string) => metrics.llmDuration.observe({ outcome }, (performance.now() - started) / 1000);
    try {
      const tools = req.tools?.map((t) => ({
        type: 'function' as const,
        function: { name: t.name, description: t.description, parameters: t.parameters },
      }));
      const res = await this.sdk().chat.completions.create(
        {
          model: this.opts.model,
          messages: [
            { role: 'system', content: this.opts.systemPrompt(req.locale) },
            ...req.messages.map(toSdkMessage),
          ],
          ...(tools && tools.length > 0
            ? { tools, tool_choice: req.mustAnswer ? ('none' as const) : ('auto' as const) }
            : {}),
          ...(this.opts.maxOutputTokens ? { max_tokens: this.opts.maxOutputTokens } : {}),
        },
        { signal: req.signal },
      );
      const message = res.choices[0]?.message;
      let text = message?.content?.trim() ?? '';
      // Cut off by the output cap: say so rather than end mid-sentence without a sign.
      if (text && res.choices[0]?.finish_reason === 'length') text = `${text} […]`;
      const toolCalls = (message?.tool_calls ?? []).flatMap((c) =>
        c.type === 'function' ? [{ id: c.id, name: c.function.name, arguments: c.function.arguments }] : [],
      );
      const usage = res.usage
        ? { promptTokens: res.usage.prompt_tokens, completionTokens: res.usage.completion_tokens }
        : undefined;
      if (usage) {
        metrics.llmTokens.inc({ kind: 'prompt' }, usage.promptTokens);
        metrics.llmTokens.inc({ kind: 'completion' }, usage.completionTokens);
      }
      if (toolCalls.length > 0 && !req.mustAnswer) {
        observe('success');
        return { text, toolCalls, usage };
      }
      if (!text) {
        observe('empty');
        throw new AssistantUnavailableError('the LLM returned an empty answer');
      }
      observe('success');
      return { text, usage };
    } catch (err) {
      if (err instanceof AssistantUnavailableError) throw err;
      // The shared backoff refused an SDK retry (see llm-gate.ts): the SDK wraps it.
      if (err instanceof Error && err.cause instanceof AssistantUnavailableError) {
        observe('unavailable');
        throw err.cause;
      }
      if (err instanceof APIUserAbortError) {
        observe('aborted');
        throw new AssistantUnavailableError('LLM request aborted', { cause: err });
      }
      if (err instanceof APIConnectionError) {
        observe('timeout_or_network');
        throw new AssistantUnavailableError(`LLM unreachable: ${err.message}`, { cause: err });
      }
      if (err instanceof APIError) {
        const status = err.status ?? 0;
        if (status === 429 || status >= 500 || status === 408) {
          observe('unavailable');
          const headers = err.headers instanceof Headers ? err.headers : undefined;
          throw new AssistantUnavailableError(`LLM answered ${status}`, {
            cause: err,
            retryAfterMs: headers ? retryAfterMs(headers) : undefined,
          });
        }
        if (isContextLengthError(err)) {
          observe('context_length');
          throw new AssistantContextTooLongError(`LLM context window exceeded (${status})`, { cause: err });
        }
        observe('rejected');
        throw new AssistantRejectedError(`LLM rejected the request (${status})`, { cause: err });
      }
      observe('error');
      throw new AssistantUnavailableError(`LLM call failed: ${(err as Error).message}`, { cause: err });
    }
  }
}

/** A prompt message in the chat-completions wire shape. */
function toSdkMessage(m: PromptMessage): ChatCompletionMessageParam {
  if (m.role === 'tool') return { role: 'tool', tool_call_id: m.toolCallId, content: m.content };
  if (m.role === 'assistant' && 'toolCalls' in m) {
    return {
      role: 'assistant',
      content: m.content,
      tool_calls: m.toolCalls.map((c) => ({
        id: c.id,
        type: 'function',
        function: { name: c.name, arguments: c.arguments },
      })),
    };
  }
  return { role: m.role, content: m.content } as ChatCompletionMessageParam;
}
