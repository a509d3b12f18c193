/**
 * The tools port: what the model is offered (an OpenAI-style function: name, description, JSON
 * schema of the arguments) and what a call gives back. Built-in tools (`search_knowledge`) and MCP
 * servers' tools implement the same shape, so the tool loop does not care where a tool lives.
 */

/** A tool as offered to the model. */
export interface ToolDefinition {
  /** `search_knowledge`, or `<server>__<tool>` for MCP tools; matches ^[A-Za-z0-9_-]{1,64}$. */
  readonly name: string;
  readonly description: string;
  /** JSON Schema of the arguments object. */
  readonly parameters: Record<string, unknown>;
}

/** How a call ended: only `ok` is a successful result; the others are told to the model as such. */
export type ToolOutcome = 'ok' | 'error' | 'timeout' | 'unavailable';

/** What a call gives back to the model (always a text the model can read). */
export interface ToolResult {
  readonly outcome: ToolOutcome;
  readonly content: string;
}

/** Per-call context. */
export interface ToolCallContext {
  /** `wadi-<inbox id>-<step>`: the same on a retried turn, for servers that deduplicate. */
  readonly idempotencyKey: string;
  readonly signal?: AbortSignal;
}

/** A tool that can be called. */
export interface Tool {
  readonly definition: ToolDefinition;
  call(args: Record<string, unknown>, ctx: ToolCallContext): Promise<ToolResult>;
}

/** Most characters of a tool result handed to the model (the rest is cut, with a note). */
export const MAX_RESULT_CHARS = 8000;

/** `text` cut to MAX_RESULT_CHARS. */
export function capResult(text: string): string {
  return text.length <= MAX_RESULT_CHARS
    ? text
    : `${text.slice(0, MAX_RESULT_CHARS)}\n[… result cut at ${MAX_RESULT_CHARS} characters]`;
}
