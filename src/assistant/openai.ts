/**
 * The OpenAI-compatible adapter (OpenAI, Azure, Ollama, vLLM, OpenRouter… or the sandbox fake),
 * built on the official SDK with a request timeout and bounded retries. SDK errors are mapped to
 * the port's classes: network errors, timeouts, 429 and 5xx mean "unavailable" (keep the message
 * pending); other 4xx mean this request was rejected. The only file that imports the SDK.
 */
import OpenAI, { APIConnectionError, APIError, APIUserAbortError } from 'openai';
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import { metrics } from '../observability/metrics/metrics.ts';
import {
  type Assistant,
  AssistantRejectedError,
  type AssistantReply,
  type AssistantRequest,
  AssistantUnavailableError,
  type PromptMessage,
} from './assistant.ts';

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
}

/** Chat completions against any OpenAI-compatible server. */
export class OpenAiAssistant implements Assistant {
  readonly name = 'openai';
  private client: OpenAI | undefined;
  private readonly opts: OpenAiAssistantOptions;

  constructor(opts: OpenAiAssistantOptions) {
    this.opts = opts;
  }

  private sdk(): OpenAI {
    this.client ??= new OpenAI({
      apiKey: this.opts.apiKey,
      baseURL: this.opts.baseUrl(),
      timeout: this.opts.timeoutMs,
      maxRetries: this.opts.maxRetries,
    });
    return this.client;
  }

  /** One chat completion; records duration and token usage. */
  async reply(req: AssistantRequest): Promise<AssistantReply> {
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
        },
        { signal: req.signal },
      );
      const message = res.choices[0]?.message;
      const text = message?.content?.trim() ?? '';
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
          throw new AssistantUnavailableError(`LLM answered ${status}`, { cause: err });
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
