/**
 * The assistant port: given the conversation so far, produce the reply text. Adapters (OpenAI-
 * compatible, offline) implement it; the circuit breaker wraps one. Errors are classes whose type
 * decides what the worker does: `AssistantUnavailableError` keeps the message pending (not counted
 * towards the dead letter), `AssistantRejectedError` is a failure of this request that counts.
 */

/** A part of a user message: text, or an image (a data URL) for a vision model. */
export type ContentPart =
  | { readonly type: 'text'; readonly text: string }
  | { readonly type: 'image_url'; readonly image_url: { readonly url: string } };

/** One message of the prompt; only user messages carry parts (images). */
export interface ChatMessage {
  readonly role: 'system' | 'user' | 'assistant';
  readonly content: string | readonly ContentPart[];
}

/** The text of a message's content (image parts left out). */
export function contentText(content: ChatMessage['content'] | null | undefined): string {
  if (content === null || content === undefined) return '';
  if (typeof content === 'string') return content;
  return content
    .filter((p): p is Extract<ContentPart, { type: 'text' }> => p.type === 'text')
    .map((p) => p.text)
    .join('\n');
}

/** True when any message carries an image part. */
export function hasImages(messages: readonly { readonly content: ChatMessage['content'] | null }[]): boolean {
  return messages.some((m) => Array.isArray(m.content) && m.content.some((p) => p.type === 'image_url'));
}

/** A tool call the model asked for (arguments: the JSON text it wrote). */
export interface ToolCallRequest {
  readonly id: string;
  readonly name: string;
  readonly arguments: string;
}

/** A tool the model may call: name, description and the JSON Schema of its arguments. */
export interface ToolSpec {
  readonly name: string;
  readonly description: string;
  readonly parameters: Record<string, unknown>;
}

/** Any message of a prompt: chat text, the model's tool calls, or a tool's result. */
export type PromptMessage =
  | ChatMessage
  | { readonly role: 'assistant'; readonly content: string | null; readonly toolCalls: readonly ToolCallRequest[] }
  | { readonly role: 'tool'; readonly toolCallId: string; readonly content: string };

/** What the assistant is asked. */
export interface AssistantRequest {
  /** History window followed by the new user messages (no system prompt: the adapter adds it). */
  readonly messages: readonly PromptMessage[];
  /** Tools the model may call (adapters that cannot call tools ignore them and answer). */
  readonly tools?: readonly ToolSpec[];
  /** The tools are listed but the model must answer in text now (the turn's step cap). */
  readonly mustAnswer?: boolean;
  readonly locale: 'es' | 'en';
  /** Aborted when the worker shuts down and hands the turn back. */
  readonly signal?: AbortSignal;
}

/** The reply and what it cost. */
export interface AssistantReply {
  /** The answer; may be empty when the model asked for tools instead. */
  readonly text: string;
  /** Tools the model wants called before it answers. */
  readonly toolCalls?: readonly ToolCallRequest[];
  readonly usage?: { readonly promptTokens: number; readonly completionTokens: number };
}

/** The port. */
export interface Assistant {
  readonly name: string;
  reply(req: AssistantRequest): Promise<AssistantReply>;
}

/** The LLM is down, slow, throttled or the breaker is open: try again later, do not dead-letter. */
export class AssistantUnavailableError extends Error {
  readonly code = 'ASSISTANT_UNAVAILABLE';
  /** When it is worth trying again, if known (breaker reopening). */
  readonly retryAfterMs?: number;
  constructor(message: string, opts: { cause?: unknown; retryAfterMs?: number } = {}) {
    super(message, { cause: opts.cause });
    this.name = 'AssistantUnavailableError';
    this.retryAfterMs = opts.retryAfterMs;
  }
}

/** The LLM refused this request (bad request, auth): retrying may not help. */
export class AssistantRejectedError extends Error {
  readonly code: string = 'ASSISTANT_REJECTED';
  constructor(message: string, opts: { cause?: unknown } = {}) {
    super(message, { cause: opts.cause });
    this.name = new.target.name;
  }
}

/**
 * The prompt does not fit the model's context window (OpenAI `context_length_exceeded` and its
 * equivalents): the same request will fail again, a shorter history may not.
 */
export class AssistantContextTooLongError extends AssistantRejectedError {
  override readonly code = 'ASSISTANT_CONTEXT_TOO_LONG';
}

/** Rough token estimate (~4 characters per token) used for the history budget. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}
