/**
 * One assistant turn: the claimed messages of one conversation (a coalesced burst) become replies.
 * Commands and non-text messages are answered by WADI itself; runs of text go to the assistant
 * with the history window. Everything the turn decides (replies in the outbox, history, /reset,
 * messages done) commits in ONE transaction, so a crash before it changes nothing and the turn is
 * simply claimed again. When the LLM is unavailable the messages stay pending and the user gets
 * one short notice per outage (conversations.fallback_notified_at).
 */
import type { Logger } from 'pino';
import {
  type Assistant,
  AssistantRejectedError,
  AssistantUnavailableError,
  type ChatMessage,
} from '../assistant/assistant.ts';
import { answerWithTools, type ToolAnswerDeps } from '../assistant-tools/answer.ts';
import { splitText } from '../channels/split.ts';
import type { ChannelName, ChannelSender } from '../channels/types.ts';
import type { Database } from '../db/client.ts';
import { markFallbackNotified, resetContext } from '../db/conversations.ts';
import { type ClaimedTurn, LeaseLostError, type TurnLease } from '../inbox/claim.ts';
import { enqueueReplies, type QueuedReply } from '../outbox/enqueue.ts';
import { appendHistory, loadHistory } from './history.ts';
import { messageText, planTurn } from './plan.ts';
import { kindName, type Locale, resolveLocale, texts } from './texts.ts';
import type { TypingKeeper } from './typing.ts';

/** What a turn needs. */
export interface TurnDeps {
  readonly database: Database;
  readonly logger: Logger;
  readonly assistant: Assistant;
  readonly sender: (channel: ChannelName) => ChannelSender | undefined;
  readonly typing: TypingKeeper;
  readonly defaultLocale: Locale;
  readonly historyTokens: number;
  /** Knowledge search and MCP tools (absent when neither is configured: one plain reply per run). */
  readonly tools?: ToolAnswerDeps;
  /** Called after a turn queued replies (wakes the local dispatcher). */
  readonly onQueued?: () => void;
}

/** History effects, applied in order inside the final transaction. */
type Effect = { type: 'reset' } | { type: 'history'; rows: { role: 'user' | 'assistant'; content: string }[] };

const FALLBACK_SPLIT_LIMIT = 4096;

/**
 * Runs one claimed turn to completion or hands it back, through `lease` (the worker's: it owns the
 * inbox rows and the retry policy).
 */
export async function runTurn(deps: TurnDeps, turn: ClaimedTurn, signal: AbortSignal, lease: TurnLease): Promise<void> {
  const conv = turn.conversation;
  const channel = conv.channel as ChannelName;
  const last = turn.messages[turn.messages.length - 1];
  const allDone = new Map(turn.messages.map((m) => [m.id, last.id]));

  if (conv.blocked || conv.paused) {
    // Blocked: nobody to write to. Paused: a human is answering; keep the user's words for context.
    const userRows = conv.paused
      ? turn.messages.map((m) => ({ role: 'user' as const, content: messageText(m) })).filter((r) => r.content)
      : [];
    await commit(deps, turn, lease, [], [{ type: 'history', rows: userRows }], { answeredBy: allDone });
    return;
  }

  const sender = deps.sender(channel);
  const locale = resolveLocale(conv.locale, deps.defaultLocale);
  const t = texts(locale);
  const split = (s: string) => (sender ? sender.split(s) : splitText(s, { limit: FALLBACK_SPLIT_LIMIT }));
  if (sender) deps.typing.start(conv.id, sender, conv.chat_id, last.event.platformMessageId);

  const replies: QueuedReply[] = [];
  const effects: Effect[] = [];
  const answeredBy = new Map<number, number>();
  const reply = (inboxId: number, body: string, kind: 'text' | 'notice' = 'text') =>
    replies.push({
      channel,
      chatId: conv.chat_id,
      conversationId: conv.id,
      inboxId,
      kind,
      parts: split(body),
      traceContext: turn.messages.find((m) => m.id === inboxId)?.traceContext,
    });
  let history: ChatMessage[] | undefined;
  let llmStartedAt: Date | undefined;
  let llmEndedAt: Date | undefined;
  let answered = false;

  try {
    for (const step of planTurn(turn.messages)) {
      if (step.type === 'command') {
        answeredBy.set(step.message.id, step.message.id);
        if (step.name === 'start') reply(step.message.id, t.welcome(conv.display_name ?? undefined));
        else if (step.name === 'help') reply(step.message.id, t.help);
        else {
          reply(step.message.id, t.reset);
          effects.push({ type: 'reset' });
          history = [];
        }
      } else if (step.type === 'unsupported') {
        answeredBy.set(step.message.id, step.message.id);
        reply(step.message.id, t.unsupported(kindName(locale, step.kind)));
      } else {
        history ??= await loadHistory(deps.database, conv.id, deps.historyTokens);
        const user = step.messages.map((m) => ({ role: 'user' as const, content: messageText(m) }));
        llmStartedAt ??= new Date();
        // Tool calls are journaled under the run's first message: stable when a retry claims more.
        const journal = { inboxId: step.messages[0].id, conversationId: conv.id, leaseToken: turn.token };
        const messages = [...history, ...user];
        const r = deps.tools
          ? await answerWithTools(deps.tools, deps.assistant, { messages, locale, signal, turn: journal })
          : await deps.assistant.reply({ messages, locale, signal });
        llmEndedAt = new Date();
        const anchor = step.messages[step.messages.length - 1].id;
        for (const m of step.messages) answeredBy.set(m.id, anchor);
        reply(anchor, r.text);
        const rows = [...user, { role: 'assistant' as const, content: r.text }];
        effects.push({ type: 'history', rows });
        history = [...history, ...rows];
        answered = true;
      }
    }
  } catch (err) {
    deps.typing.stop(conv.id);
    await handBack(deps, turn, lease, err, signal);
    return;
  }

  if (replies.length === 0) deps.typing.stop(conv.id);
  await commit(deps, turn, lease, replies, effects, {
    answeredBy,
    llmStartedAt,
    llmEndedAt,
    clearFallback: answered,
  });
}

async function commit(
  deps: TurnDeps,
  turn: ClaimedTurn,
  lease: TurnLease,
  replies: readonly QueuedReply[],
  effects: readonly Effect[],
  opts: { answeredBy: Map<number, number>; llmStartedAt?: Date; llmEndedAt?: Date; clearFallback?: boolean },
): Promise<void> {
  const conv = turn.conversation;
  try {
    await deps.database.transaction(async (tx) => {
      await lease.complete(tx, opts);
      for (const e of effects) {
        if (e.type === 'reset') await resetContext(tx, conv.id);
        else await appendHistory(tx, conv.id, e.rows);
      }
      await enqueueReplies(tx, replies);
    });
  } catch (err) {
    if (err instanceof LeaseLostError) {
      deps.logger.warn({ conversationId: conv.id }, 'turn lost its lease; another worker answers it');
      return;
    }
    throw err;
  }
  if (replies.length > 0) deps.onQueued?.();
}

async function handBack(
  deps: TurnDeps,
  turn: ClaimedTurn,
  lease: TurnLease,
  err: unknown,
  signal: AbortSignal,
): Promise<void> {
  const conv = turn.conversation;
  const attempt = Math.max(...turn.messages.map((m) => m.attempts));
  if (signal.aborted) {
    // Shutdown or lost lease: give the turn back untouched, to be answered right away elsewhere.
    await deps.database.transaction((tx) => lease.giveBack(tx)).catch(() => {});
    return;
  }
  if (err instanceof AssistantUnavailableError) {
    const locale = resolveLocale(conv.locale, deps.defaultLocale);
    const first = turn.messages[0];
    let notified = false;
    await deps.database.transaction(async (tx) => {
      await lease.postpone(tx, err.message, err.retryAfterMs);
      // One notice per outage: the flag is cleared by the next real answer.
      if (await markFallbackNotified(tx, conv.id)) {
        notified = true;
        const parts = [texts(locale).unavailable];
        await enqueueReplies(tx, [
          {
            channel: conv.channel,
            chatId: conv.chat_id,
            conversationId: conv.id,
            inboxId: first.id,
            kind: 'notice',
            parts,
          },
        ]);
      }
    });
    deps.logger.warn({ conversationId: conv.id, err: err.message, notified }, 'assistant unavailable; turn postponed');
    if (notified) deps.onQueued?.();
    return;
  }
  const dead = await deps.database.transaction((tx) =>
    lease.fail(tx, err instanceof Error ? `${err.name}: ${err.message}` : String(err)),
  );
  const level = err instanceof AssistantRejectedError ? 'warn' : 'error';
  deps.logger[level]({ conversationId: conv.id, err, attempt, dead }, 'turn failed; will retry or dead-letter');
}
