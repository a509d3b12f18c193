/**
 * "Context too long" recovery: when the LLM refuses the prompt as longer than its context window
 * (AssistantContextTooLongError), the turn asks once more with the history window trimmed to its
 * newest quarter; a second refusal means no answer is possible and the turn ends with an apology.
 */
import {
  AssistantContextTooLongError,
  type AssistantReply,
  type ChatMessage,
  contentText,
  estimateTokens,
} from '../assistant/assistant.ts';

/** The answer, or the news that even the trimmed prompt did not fit. */
export type ContextOutcome<R extends AssistantReply = AssistantReply> =
  | { readonly ok: true; readonly reply: R; readonly trimmed: boolean }
  | { readonly ok: false; readonly error: AssistantContextTooLongError };

/** The newest history messages that fit a quarter of the tokens the whole window used. */
export function trimHistory(history: readonly ChatMessage[]): ChatMessage[] {
  const total = history.reduce((n, m) => n + estimateTokens(contentText(m.content)), 0);
  const budget = Math.floor(total / 4);
  const out: ChatMessage[] = [];
  let used = 0;
  for (let i = history.length - 1; i >= 0; i--) {
    const t = estimateTokens(contentText(history[i].content));
    if (used + t > budget) break;
    used += t;
    out.unshift(history[i]);
  }
  // The window starts with a user turn, as the model expects after the system prompt.
  while (out.length > 0 && out[0].role !== 'user') out.shift();
  return out;
}

/** Asks (`ask`: the assistant, with or without tools); on "context too long" retries once with `trimHistory(history)`. */
export async function replyWithinContext<R extends AssistantReply>(
  ask: (messages: ChatMessage[]) => Promise<R>,
  req: { history: readonly ChatMessage[]; user: readonly ChatMessage[] },
  onTrim?: (info: { from: number; to: number }) => void,
): Promise<ContextOutcome<R>> {
  try {
    const reply = await ask([...req.history, ...req.user]);
    return { ok: true, reply, trimmed: false };
  } catch (err) {
    if (!(err instanceof AssistantContextTooLongError)) throw err;
  }
  const trimmed = trimHistory(req.history);
  onTrim?.({ from: req.history.length, to: trimmed.length });
  try {
    const reply = await ask([...trimmed, ...req.user]);
    return { ok: true, reply, trimmed: true };
  } catch (err) {
    if (err instanceof AssistantContextTooLongError) return { ok: false, error: err };
    throw err;
  }
}
