/**
 * The built-in `handoff` tool: the model hands the conversation to a person when it cannot or
 * should not go on (the user is upset, asks for something only staff can do, or the documents do
 * not cover it). Calling it has no effect by itself: the tool loop stops at a successful call and
 * the turn records the handoff in its final transaction, exactly as for `/human` (needs human,
 * the user is told a person will answer, on-call is due to be told once, the bot goes silent).
 * The call is journaled like any other, so a turn retried after a crash replays it instead of
 * asking the model again, and the handoff is still committed once.
 */
import { cleanText } from '../kernel/text.ts';
import type { Tool } from './types.ts';

/** The tool's name. */
export const HANDOFF = 'handoff';

/** Longest reason kept (it is shown to on-call). */
export const MAX_REASON_CHARS = 300;

/** The reason the model gave, trimmed and capped, or undefined. */
export function handoffReason(args: Record<string, unknown>): string | undefined {
  if (typeof args.reason !== 'string') return undefined;
  const r = cleanText(args.reason).replace(/\s+/g, ' ').trim();
  if (!r) return undefined;
  return r.length > MAX_REASON_CHARS ? `${r.slice(0, MAX_REASON_CHARS - 1)}…` : r;
}

/** Builds the tool. */
export function handoffTool(): Tool {
  return {
    definition: {
      name: HANDOFF,
      description:
        'Hand the conversation over to a person from the team. Use it when the user asks for a person, is upset, or needs something you cannot do or answer from the documents and tools. The user is told a person will answer, and you stop answering in this conversation.',
      parameters: {
        type: 'object',
        properties: {
          reason: { type: 'string', description: 'Why a person is needed, in one short sentence for the team' },
        },
        additionalProperties: false,
      },
    },
    async call(args) {
      return { outcome: 'ok', content: JSON.stringify({ handedOver: true, reason: handoffReason(args) ?? null }) };
    },
  };
}
