/**
 * One assistant turn: the claimed messages of one conversation (a coalesced burst) become replies.
 * Commands and non-text messages are answered by WADI itself; runs of text go to the assistant
 * with the history window. Everything the turn decides (replies in the outbox, history, /reset,
 * messages done) commits in ONE transaction, so a crash before it changes nothing and the turn is
 * simply claimed again. When the LLM is unavailable the messages stay pending and the user gets
 * one short notice per outage (conversations.fallback_notified_at). Every text is rendered for the
 * channel (reply-format.ts). A prompt too long for the model is retried once with a trimmed
 * history (context-retry.ts); if it still does not fit, the user gets an apology and the turn ends.
 *
 * People: `/human`, a HANDOFF_KEYWORDS word or the model's `handoff` tool call hands the
 * conversation to a person (needs_human: the
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
  type ContentPart,
  hasImages,
} from '../assistant/assistant.ts';
import { answerWithTools, type ToolAnswerDeps } from '../assistant-tools/answer.ts';
import type { ChannelName, ChannelSender } from '../channels/types.ts';
import type { Database } from '../db/client.ts';
import { type HandoffTrigger, optIn, optOut, requestHandoff } from '../db/conversation-states.ts';
import { markFallbackNotified, resetContext } from '../db/conversations.ts';
import {
  type ClaimedMessage,
  type ClaimedTurn,
  type CompleteOptions,
  LeaseLostError,
  type TurnLease,
} from '../inbox/claim.ts';
import { MediaError } from '../media/errors.ts';
import { mediaNotice } from '../media/notices.ts';
import type { MediaService, Understood } from '../media/service.ts';
import { understandTurnMedia } from '../media/turn-media.ts';
import { metrics } from '../observability/metrics/metrics.ts';
import { enqueueReplies, type QueuedReply } from '../outbox/enqueue.ts';
import { replyWithinContext } from './context-retry.ts';
import { appendHistory, type HistoryLoader, loadHistory } from './history.ts';
import { type KeywordSets, keywordToName } from './keywords.ts';
import { messageText, planTurn } from './plan.ts';
import { formatReply } from './reply-format.ts';
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
  /** Reads the history windows of concurrent turns together (default: one query per turn). */
  readonly history?: HistoryLoader;
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
  /** Voice notes, images, documents (src/media); without it they get the "text only" reply. */
  readonly media?: MediaService;
}

/** Effects on the conversation, applied in order inside the final transaction. */
type Effect =
  | { type: 'reset' }
  | { type: 'history'; rows: { role: 'user' | 'assistant'; content: string }[] }
  | { type: 'handoff'; trigger: HandoffTrigger }
  | { type: 'opt_out' }
  | { type: 'opt_in' };

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

  // A person has the conversation (paused or handed off): the bot answers nothing but opt-outs.
  let paused = conv.paused;
  let needsHuman = conv.handoff_requested_at !== null;
  const sender = deps.sender(channel);
  const locale = resolveLocale(conv.locale, deps.defaultLocale);
  const t = texts(locale);
  if (sender && !paused) deps.typing.start(conv.id, sender, conv.chat_id, last.event.platformMessageId);
  const unanswered = new Set<number>();
  const inHistory = new Set<number>();

  const replies: QueuedReply[] = [];
  const effects: Effect[] = [];
  const answeredBy = new Map<number, number>();
  const reply = (inboxId: number, markdown: string, kind: 'text' | 'notice' = 'text') => {
    const { parts, options } = formatReply(channel, sender, markdown);
    replies.push({
      channel,
      chatId: conv.chat_id,
      conversationId: conv.id,
      inboxId,
      kind,
      parts,
      options,
      traceContext: turn.messages.find((m) => m.id === inboxId)?.traceContext,
    });
  };
  let history: ChatMessage[] | undefined;
  let llmStartedAt: Date | undefined;
  let llmEndedAt: Date | undefined;
  let answered = false;

  try {
    // Media first (downloads, transcriptions), each result stored as soon as it is known (also while
    // a person has the conversation: the transcript is what they and, later, the assistant read).
    const understood = deps.media
      ? await understandTurnMedia(
          { database: deps.database, media: deps.media, logger: deps.logger },
          turn,
          locale,
          signal,
        )
      : new Map<number, Understood>();
    for (const step of planTurn(turn.messages, understood, deps.keywords)) {
      if (step.type === 'opt_out' || step.type === 'opt_in') {
        answeredBy.set(step.message.id, step.message.id);
        effects.push({ type: step.type });
        const notice =
          step.type === 'opt_out'
            ? t.optedOut(keywordToName(deps.keywords?.optIn ?? [], t.keywordNames.optIn))
            : t.optedIn(keywordToName(deps.keywords?.optOut ?? [], t.keywordNames.optOut));
        reply(step.message.id, notice, 'notice');
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
          const said = understood.get(m.id)?.text ?? messageText(m);
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
      } else if (step.type === 'media') {
        const u = step.understood;
        answeredBy.set(step.message.id, step.message.id);
        reply(step.message.id, mediaNotice(locale, u.kind, u.outcome, u.limit));
      } else {
        history ??= await (deps.history
          ? deps.history.load(conv.id, deps.historyTokens)
          : loadHistory(deps.database, conv.id, deps.historyTokens));
        // The history keeps text only: the transcript, the document, "[image] caption". Messages
        // stored while paused are in the history already (handed to the assistant later).
        const said = step.messages.map((m) => ({
          role: 'user' as const,
          content: understood.get(m.id)?.text ?? messageText(m),
        }));
        const fresh = (ms: readonly ClaimedMessage[]) => ms.filter((m) => !m.inHistory);
        let run = step.messages;
        // Messages already in the history (stored while a person had the conversation, then handed
        // to the assistant) are read from it; an image among them is shown to a vision model
        // again with its caption, since the history only says "[image] caption".
        // When something came after them in the history (an operator's reply), they are asked
        // again at the end, so the prompt ends with what the user said rather than with the
        // operator's words (which the model would otherwise "continue", or answer as nothing).
        const askAgain = history.length > 0 && history[history.length - 1].role !== 'user';
        let user: ChatMessage[] = run
          .filter((m) => !m.inHistory || askAgain || understood.get(m.id)?.imageUrl)
          .map((m) => ({ role: 'user', content: userContent(m, understood) }));
        llmStartedAt ??= new Date();
        // Tool calls are journaled under the run's first message: stable when a retry claims more.
        const journal = { inboxId: step.messages[0].id, conversationId: conv.id, leaseToken: turn.token };
        const ask = (messages: ChatMessage[]) =>
          deps.tools
            ? answerWithTools(deps.tools, deps.assistant, { messages, locale, signal, turn: journal })
            : deps.assistant.reply({ messages, locale, signal });
        const h = history;
        const askWithin = (u: ChatMessage[]) =>
          replyWithinContext(ask, { history: h, user: u }, (trim) =>
            deps.logger.warn(
              { conversationId: conv.id, ...trim },
              'context window exceeded; retrying with a trimmed history',
            ),
          );
        let outcome: Awaited<ReturnType<typeof askWithin>>;
        try {
          outcome = await askWithin(user);
        } catch (err) {
          if (!(err instanceof AssistantRejectedError) || !hasImages(user)) throw err;
          // The model refuses images: answer the captions; an image without one gets a notice.
          deps.logger.warn(
            { conversationId: conv.id, err: err.message },
            'the chat model rejected an image; captions only',
          );
          const keep: (typeof run)[number][] = [];
          for (const m of run) {
            const u = understood.get(m.id);
            if (!u?.imageUrl) keep.push(m);
            else {
              metrics.mediaItems.inc({ channel, kind: u.kind, outcome: 'vision_rejected' });
              if (u.caption) keep.push(m);
              else {
                answeredBy.set(m.id, m.id);
                reply(m.id, mediaNotice(locale, u.kind, 'vision_rejected'));
              }
            }
          }
          run = keep;
          user = fresh(run).map((m) => {
            const u = understood.get(m.id);
            return { role: 'user', content: u?.imageUrl ? (u.caption ?? '') : userContent(m, understood) };
          });
          if (run.length === 0) continue;
          outcome = await askWithin(user);
        }
        llmEndedAt = new Date();
        const anchor = run[run.length - 1].id;
        for (const m of step.messages) if (!answeredBy.has(m.id)) answeredBy.set(m.id, anchor);
        if (!outcome.ok) {
          // Even the trimmed prompt does not fit: say so and end the turn; keeping these words in
          // the history would only make the next prompt fail the same way.
          deps.logger.warn({ conversationId: conv.id }, 'context window exceeded after trimming; apology sent');
          reply(anchor, t.tooLong, 'notice');
          continue;
        }
        const r = outcome.reply;
        const kept = said.filter((_, i) => run.includes(step.messages[i]) && !step.messages[i].inHistory);
        answered = true;
        if ('handoff' in r && r.handoff) {
          // The model called `handoff`: exactly as /human, in this turn's transaction (a retried
          // turn replays the journaled call, so it is recorded and told to on-call once).
          // The reason stays in the journal (tool_calls), where the on-call notice reads it.
          effects.push({ type: 'handoff', trigger: 'tool' });
          reply(anchor, t.handoff, 'notice');
          if (kept.length > 0) effects.push({ type: 'history', rows: kept });
          for (const m of run) if (!m.inHistory) inHistory.add(m.id);
          paused = true;
          needsHuman = true;
          continue;
        }
        reply(anchor, r.text);
        const rows = [...kept, { role: 'assistant' as const, content: r.text }];
        effects.push({ type: 'history', rows });
        history = [...history, ...rows];
      }
    }
  } catch (err) {
    deps.typing.stop(conv.id);
    // The platform or the transcriber is down: wait like an LLM outage (one notice, not counted).
    const e =
      err instanceof MediaError && err.reason === 'unavailable'
        ? new AssistantUnavailableError(err.message, { retryAfterMs: err.retryAfterMs })
        : err;
    await handBack(deps, turn, lease, e, signal);
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

/** What the model reads for one message: text, or the caption and the image for a vision model. */
function userContent(m: ClaimedMessage, understood: ReadonlyMap<number, Understood>): ChatMessage['content'] {
  const u = understood.get(m.id);
  if (!u) return messageText(m);
  if (!u.imageUrl) return u.text ?? '';
  const parts: ContentPart[] = [];
  if (u.caption) parts.push({ type: 'text', text: u.caption });
  parts.push({ type: 'image_url', image_url: { url: u.imageUrl } });
  return parts;
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
  deps.logger.debug(
    {
      conversationId: conv.id,
      inboxIds: turn.messages.map((m) => m.id),
      replies: replies.length,
      unanswered: opts.unanswered?.size ?? 0,
    },
    'turn committed',
  );
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
        const { parts, options } = formatReply(
          conv.channel,
          deps.sender(conv.channel as ChannelName),
          texts(locale).unavailable,
        );
        await enqueueReplies(tx, [
          {
            channel: conv.channel,
            chatId: conv.chat_id,
            conversationId: conv.id,
            inboxId: first.id,
            kind: 'notice',
            parts,
            options,
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
