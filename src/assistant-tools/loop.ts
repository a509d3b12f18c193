/**
 * The tool loop of one turn: ask the model; while it asks for tools, call them (at most `maxSteps`
 * calls per turn) and give it the results; return its final text. Exactly once across crashes:
 * every call is journaled (journal.ts) before it is made and its result before it is used, and a
 * retried turn first rebuilds the conversation from the journal: recorded results are replayed,
 * never called again; a call recorded as started without a result (the crash came between the call
 * and its record) is made again with the same idempotency key `wadi-<inbox id>-<step>`, so servers
 * that honour the key do not act twice. Tool failures and timeouts are results the model reads.
 */
import type { Logger } from 'pino';
import type { PromptMessage, ToolCallRequest } from '../assistant/assistant.ts';
import type { Queryable } from '../db/client.ts';
import { cleanText } from '../kernel/text.ts';
import { HANDOFF, handoffReason } from './handoff.ts';
import { assertLease, type JournalEntry, type JournalTurn, loadJournal, recordResult, recordStart } from './journal.ts';
import { toolMetrics } from './metrics.ts';
import type { Toolbox } from './toolbox.ts';
import type { ToolDefinition, ToolResult } from './types.ts';

/** A tool call the model asked for (the assistant port's type). */
export type ModelToolCall = ToolCallRequest;

/** A message of the tool conversation (the assistant port's prompt messages). */
export type LoopMessage = PromptMessage;

/** What the model answered: text, tool calls, or both. */
export interface ModelTurn {
  readonly text: string | null;
  readonly toolCalls: readonly ModelToolCall[];
}

/** The model as the loop needs it. With `mustAnswer` the tools are listed (the conversation
 * references them) but the model may not call one (`tool_choice: "none"`). */
export type ModelStep = (req: {
  messages: readonly LoopMessage[];
  tools: readonly ToolDefinition[];
  mustAnswer: boolean;
  signal?: AbortSignal;
}) => Promise<ModelTurn>;

/** What the loop needs. */
export interface ToolLoopOptions {
  readonly db: Queryable;
  readonly model: ModelStep;
  readonly toolbox: Toolbox;
  readonly turn: JournalTurn;
  readonly maxSteps: number;
  readonly logger: Logger;
  readonly signal?: AbortSignal;
}

/** The loop's outcome: the final text and how many calls were made, replayed or re-made. */
export interface ToolLoopResult {
  readonly text: string;
  readonly called: number;
  readonly replayed: number;
  /** The model called `handoff` (successfully): no text, the turn hands the conversation over. */
  readonly handoff?: { readonly reason?: string };
}

const LIMIT_REACHED = JSON.stringify({ error: 'tool call limit for this message reached; answer with what you have' });

/** Runs the loop from `messages` (history + the user's new messages). */
export async function runToolLoop(opts: ToolLoopOptions, messages: readonly LoopMessage[]): Promise<ToolLoopResult> {
  const { db, turn, toolbox } = opts;
  const convo: LoopMessage[] = [...messages];
  let called = 0;
  let replayed = 0;

  const call = async (step: number, tool: string, args: Record<string, unknown>): Promise<ToolResult> => {
    const r = await toolbox.call(tool, args, { idempotencyKey: `wadi-${turn.inboxId}-${step}`, signal: opts.signal });
    const result = { outcome: r.outcome, content: cleanText(r.content) };
    // Recorded before the model sees it: a crash from here on replays this result.
    await recordResult(db, turn, step, result);
    called += 1;
    return result;
  };

  // 1. Replay what a previous attempt of this turn recorded.
  const journal = await loadJournal(db, turn.inboxId);
  let step = 0;
  let round = 0;
  // A successful `handoff` call ends the loop after its round (replayed or new): nothing more is asked.
  let handoff: { reason?: string } | undefined;
  const noteHandoff = (tool: string, args: Record<string, unknown>, outcome: string) => {
    if (tool === HANDOFF && outcome === 'ok' && toolbox.knows(HANDOFF)) handoff ??= { reason: handoffReason(args) };
  };
  for (const [r, entries] of groupByRound(journal)) {
    convo.push({
      role: 'assistant',
      content: null,
      toolCalls: entries.map((e) => ({ id: e.callId, name: e.tool, arguments: JSON.stringify(e.arguments) })),
    });
    for (const e of entries) {
      let content = e.result;
      if (content === null) {
        await assertLease(db, turn, e.step);
        opts.logger.warn(
          { tool: e.tool, step: e.step },
          'tool call interrupted by a crash: calling again with the same idempotency key',
        );
        const again = await call(e.step, e.tool, e.arguments);
        content = again.content;
        noteHandoff(e.tool, e.arguments, again.outcome);
      } else {
        replayed += 1;
        toolMetrics.calls.inc({ tool: metricName(toolbox, e.tool), outcome: 'replayed' });
        noteHandoff(e.tool, e.arguments, e.outcome);
      }
      convo.push({ role: 'tool', toolCallId: e.callId, content });
      step = Math.max(step, e.step);
    }
    round = Math.max(round, r);
  }
  if (replayed > 0) opts.logger.info({ replayed, inboxId: turn.inboxId }, 'tool calls replayed from the journal');
  if (handoff) return { text: '', called, replayed, handoff };

  // 2. Go on with the model.
  for (;;) {
    const tools = toolbox.definitions();
    const mustAnswer = step >= opts.maxSteps || tools.length === 0;
    const res = await opts.model({ messages: convo, tools, mustAnswer, signal: opts.signal });
    if (res.toolCalls.length === 0 || mustAnswer) {
      return { text: res.text?.trim() ?? '', called, replayed };
    }
    round += 1;
    convo.push({ role: 'assistant', content: res.text, toolCalls: res.toolCalls });
    for (const tc of res.toolCalls) {
      step += 1;
      const args = parseArguments(tc.arguments);
      await recordStart(db, turn, { step, round, callId: tc.id, tool: tc.name, arguments: args ?? {} });
      let result: ToolResult | { outcome: 'refused'; content: string };
      if (step > opts.maxSteps) {
        result = { outcome: 'refused', content: LIMIT_REACHED };
        await recordResult(db, turn, step, result);
        toolMetrics.calls.inc({ tool: metricName(toolbox, tc.name), outcome: 'refused' });
      } else if (!args) {
        result = { outcome: 'error', content: JSON.stringify({ error: 'arguments must be a JSON object' }) };
        await recordResult(db, turn, step, result);
        toolMetrics.calls.inc({ tool: metricName(toolbox, tc.name), outcome: 'error' });
      } else {
        result = await call(step, tc.name, args);
        noteHandoff(tc.name, args, result.outcome);
      }
      convo.push({ role: 'tool', toolCallId: tc.id, content: result.content });
    }
    if (handoff) return { text: '', called, replayed, handoff };
  }
}

/** Journal entries grouped by round, in order. */
function groupByRound(entries: readonly JournalEntry[]): [number, JournalEntry[]][] {
  const m = new Map<number, JournalEntry[]>();
  for (const e of entries) m.set(e.round, [...(m.get(e.round) ?? []), e]);
  return [...m.entries()].sort((a, b) => a[0] - b[0]);
}

/** The model's argument text as an object with storable strings, or undefined if it is not one. */
function parseArguments(text: string): Record<string, unknown> | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text || '{}');
  } catch {
    return undefined;
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) return undefined;
  return clean(v) as Record<string, unknown>;
}

/** Strings made storable (jsonb holds no NUL, no lone surrogates), recursively; depth-capped. */
function clean(v: unknown, depth = 0): unknown {
  if (typeof v === 'string') return cleanText(v);
  if (depth > 32 || v === null || typeof v !== 'object') return depth > 32 ? null : v;
  if (Array.isArray(v)) return v.map((x) => clean(x, depth + 1));
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [cleanText(k), clean(x, depth + 1)]));
}

/** The tool label for metrics: a known tool's name, else `unknown` (model-made names are unbounded). */
function metricName(toolbox: Toolbox, name: string): string {
  return toolbox.knows(name) ? name : 'unknown';
}
