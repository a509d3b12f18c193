/**
 * One assistant turn: the claimed messages of one conversation (a coalesced burst) become replies.
 * Commands and non-text messages are answered by WADI itself; runs of text go to the assistant
 * with the history window. Everything the turn decides (replies in the outbox, history, /reset,
 * messages done) commits in ONE transaction, so a crash before it changes nothing and the turn is
 * simply claimed again. When the LLM is unavailable the messages stay pending and the user gets
 * one short notice per outage (conversations.fallback_notified_at).
 *
 * People: `/human` or a HANDOFF_KEYWORDS word hands the conversation to a person (needs_human: the
 * user is told once, on-call is due to be told, the bot goes silent); while a person has it, what
 * the user writes is stored `unanswered` and added to the history, not answered. Opt-out and opt-in
 * keywords change what WADI may send proactively and are confirmed even then.
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
import { type HandoffTrigger, optIn, optOut, requestHandoff } from '../db/conversation-states.ts';
import { markFallbackNotified, resetContext } from '../db/conversations.ts';
import { type ClaimedTurn, type CompleteOptions, LeaseLostError, type TurnLease } from '../inbox/claim.ts';
import { metrics } from '../observability/metrics/metrics.ts';
import { enqueueReplies, type QueuedReply } from '../outbox/enqueue.ts';
import { appendHistory, loadHistory } from './history.ts';
import type { KeywordSets } from './keywords.ts';
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
  /** HANDOFF_KEYWORDS, OPT_OUT_KEYWORDS, OPT_IN_KEYWORDS (none: only /human). */
  readonly keywords?: KeywordSets;
  /** An alert destination is configured: a new handoff is due to be told to on-call. */
  readonly notifyHandoffs?: boolean;
  /** Called after a new handoff was recorded (wakes the on-call notifier). */
  readonly onHandoff?: () => void;
}

/** Effects on the conversation, applied in order inside the final transaction. */
type Effect =
  | { type: 'reset' }
  | { type: 'history'; rows: { role: 'user' | 'assistant'; content: string }[] }
  | { type: 'handoff'; trigger: HandoffTrigger }
  | { type: 'opt_out' }
  | { type: 'opt_in' };

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

  if (conv.blocked) {
    // Nobody to write to.
    await commit(deps, turn, lease, [], [], { answeredBy: allDone });
    return;
  }

  const steps = planTurn(turn.messages, deps.keywords);
  // A person has the conversation (paused or handed off): the bot answers nothing but opt-outs.
  let paused = conv.paused;
  let needsHuman = conv.handoff_requested_at !== null;
  const sender = deps.sender(channel);
  const locale = resolveLocale(conv.locale, deps.defaultLocale);
  const t = texts(locale);
  const split = (s: string) => (sender ? sender.split(s) : splitText(s, { limit: FALLBACK_SPLIT_LIMIT }));
  if (sender && !paused) deps.typing.start(conv.id, sender, conv.chat_id, last.event.platformMessageId);
  const unanswered = new Set<number>();
  const inHistory = new Set<number>();

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
    for (const step of steps) {
      if (step.type === 'opt_out' || step.type === 'opt_in') {
        answeredBy.set(step.message.id, step.message.id);
        effects.push({ type: step.type });
        reply(step.message.id, step.type === 'opt_out' ? t.optedOut : t.optedIn, 'notice');
      } else if (step.type === 'handoff' && !needsHuman) {
        answeredBy.set(step.message.id, step.message.id);
        effects.push({ type: 'handoff', trigger: step.trigger });
        reply(step.message.id, t.handoff, 'notice');
        // "quiero hablar con un agente" is part of the conversation; "/human" is not.
        const said = step.trigger === 'keyword' ? messageText(step.message) : '';
        if (said) {
          effects.push({ type: 'history', rows: [{ role: 'user', content: said }] });
          inHistory.add(step.message.id);
        }
        paused = true;
        needsHuman = true;
      } else if (paused) {
        // Kept for the person (and for the assistant's context later), not answered.
        for (const m of step.type === 'ask' ? step.messages : [step.message]) {
          unanswered.add(m.id);
          const said = messageText(m);
          if (said && !m.inHistory) {
            effects.push({ type: 'history', rows: [{ role: 'user', content: said }] });
            inHistory.add(m.id);
          }
        }
      } else if (step.type === 'handoff') {
        // Unreachable: needsHuman implies paused. Kept explicit for the type checker.
        unanswered.add(step.message.id);
      } else if (step.type === 'command') {
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
        // Messages stored while paused are in the history already (handed to the assistant later).
        const user = step.messages
          .filter((m) => !m.inHistory)
          .map((m) => ({ role: 'user' as const, content: messageText(m) }));
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
    unanswered,
    inHistory,
  });
}

async function commit(
  deps: TurnDeps,
  turn: ClaimedTurn,
  lease: TurnLease,
  replies: readonly QueuedReply[],
  effects: readonly Effect[],
  opts: CompleteOptions,
): Promise<void> {
  const conv = turn.conversation;
  const handoffs: HandoffTrigger[] = [];
  try {
    await deps.database.transaction(async (tx) => {
      handoffs.length = 0;
      await lease.complete(tx, opts);
      for (const e of effects) {
        if (e.type === 'reset') await resetContext(tx, conv.id);
        else if (e.type === 'history') await appendHistory(tx, conv.id, e.rows);
        else if (e.type === 'handoff') {
          if (await requestHandoff(tx, conv.id, e.trigger, deps.notifyHandoffs ?? false)) handoffs.push(e.trigger);
        } else if (e.type === 'opt_out') await optOut(tx, conv.id);
        else await optIn(tx, conv.id);
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
  for (const trigger of handoffs) {
    metrics.handoffs.inc({ channel: conv.channel, trigger });
    deps.logger.info({ conversationId: conv.id, trigger }, 'the user asked for a person; the bot is silent');
    deps.onHandoff?.();
  }
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
