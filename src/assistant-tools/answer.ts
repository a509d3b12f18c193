/**
 * How a turn asks the assistant when tools may be involved: with no toolbox (no knowledge, no tools
 * file) it is one plain reply;
 * otherwise the journaled tool loop (loop.ts) under the turn's lease. An empty final answer
 * is the LLM being unavailable, as for a plain reply, so the message stays pending.
 */
import type { Logger } from 'pino';
import {
  type Assistant,
  type AssistantReply,
  AssistantUnavailableError,
  type ChatMessage,
} from '../assistant/assistant.ts';
import type { Queryable } from '../db/client.ts';
import type { JournalTurn } from './journal.ts';
import { runToolLoop } from './loop.ts';
import type { Toolbox } from './toolbox.ts';

/** What answering with tools needs (one per process). */
export interface ToolAnswerDeps {
  readonly db: Queryable;
  readonly toolbox?: Toolbox;
  readonly maxSteps: number;
  readonly logger: Logger;
}

/** An answer, or the model's decision to hand the conversation to a person (then `text` is empty). */
export interface ToolAnswer extends AssistantReply {
  readonly handoff?: { readonly reason?: string };
}

/** The assistant's answer to `messages`, calling tools as the model asks. */
export async function answerWithTools(
  deps: ToolAnswerDeps,
  assistant: Assistant,
  req: { messages: readonly ChatMessage[]; locale: 'es' | 'en'; signal?: AbortSignal; turn: JournalTurn },
): Promise<ToolAnswer> {
  const toolbox = deps.toolbox;
  if (!toolbox) {
    return assistant.reply({ messages: req.messages, locale: req.locale, signal: req.signal });
  }
  const r = await runToolLoop(
    {
      db: deps.db,
      toolbox,
      turn: req.turn,
      maxSteps: deps.maxSteps,
      logger: deps.logger,
      signal: req.signal,
      model: async (q) => {
        const reply = await assistant.reply({
          messages: q.messages,
          tools: q.tools,
          mustAnswer: q.mustAnswer,
          locale: req.locale,
          signal: q.signal,
        });
        return { text: reply.text, toolCalls: reply.toolCalls ?? [] };
      },
    },
    req.messages,
  );
  if (r.handoff) return { text: '', handoff: r.handoff };
  if (!r.text) throw new AssistantUnavailableError('the LLM returned an empty answer after its tool calls');
  return { text: r.text };
}
