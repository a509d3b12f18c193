/**
 * The assistant port: given the conversation so far, produce the reply text. Adapters (OpenAI-
 * compatible, offline) implement it; the circuit breaker wraps one. Errors are classes whose type
 * decides what the worker does: `AssistantUnavailableError` keeps the message pending (not counted
 * towards the dead letter), `AssistantRejectedError` is a failure of this request that counts.
 */

/** One message of the prompt. */
export interface ChatMessage {
  readonly role: 'system' | 'user' | 'assistant';
  readonly content: string;
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

/** The LLM refused this request (bad request, context too long, auth): retrying may not help. */
export class AssistantRejectedError extends Error {
  readonly code = 'ASSISTANT_REJECTED';
  constructor(message: string, opts: { cause?: unknown } = {}) {
    super(message, { cause: opts.cause });
    this.name = 'AssistantRejectedError';
  }
}

/** Rough token estimate (~4 characters per token) used for the history budget. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}
