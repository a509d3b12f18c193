/**
 * The conversation engine as a WADI feature: the inbox workers that run turns with the assistant
 * and the outbox dispatcher that sends replies through the channel senders. Workers and the
 * dispatcher run in every role but `web`.
 */
import { EventEmitter } from 'node:events';
import type { Assistant } from '../assistant/assistant.ts';
import type { ToolAnswerDeps } from '../assistant-tools/answer.ts';
import type { ChannelName, ChannelSender } from '../channels/types.ts';
import type { Subscription } from '../db/client.ts';
import { sharedDatabase } from '../db/share.ts';
import { InboxWorker } from '../inbox/worker.ts';
import type { WadiModule } from '../kernel/module.ts';
import { Semaphore } from '../kernel/semaphore.ts';
import type { MediaService } from '../media/service.ts';
import { OutboxDispatcher } from '../outbox/dispatcher.ts';
import type { ModuleContext } from '../platform/context.ts';
import { queueDeadLetterNotice } from './dead-letter-notice.ts';
import { HandoffNotifier, type OnCallChannel } from './handoff-notifier.ts';
import { HistoryLoader } from './history.ts';
import { keywordSets } from './keywords.ts';
import { PeopleSchedules } from './schedules.ts';
import { runTurn } from './turn.ts';
import { TypingKeeper } from './typing.ts';

/** NOTIFY channels of migration 0007: inbound work (workers) and outbound work (dispatchers). */
export const INBOX_CHANNEL = 'wadi_inbox';
export const OUTBOX_CHANNEL = 'wadi_outbox';

/** What the engine uses from other features. */
export interface ConversationDeps {
  readonly assistant: Assistant;
  /** Outbound senders by channel (only configured channels are present). */
  readonly senders: ReadonlyMap<ChannelName, ChannelSender>;
  /** The inbox's 'committed' events, to wake the workers. */
  readonly inboxEvents: EventEmitter;
  /** Emits 'queued' when something queued outbound messages in this process (admin: operator replies). */
  readonly outboxEvents?: EventEmitter;
  /** Where on-call hears about handoffs: the alert notifiers that can send plain text. */
  readonly onCall?: readonly OnCallChannel[];
  /** Voice notes, images, documents (src/media); without it they get the "text only" reply. */
  readonly media?: MediaService;
  /** Knowledge search and MCP tools, when configured. */
  readonly tools?: ToolAnswerDeps;
}

/** Builds the engine. */
export function conversationModule(ctx: ModuleContext, deps: ConversationDeps): WadiModule {
  const env = ctx.config.env;
  const { assistant, senders, media } = deps;
  if (ctx.role === 'web') return { name: 'conversation' };

  const outboxEvents = deps.outboxEvents ?? new EventEmitter();
  const typing = new TypingKeeper({ whatsappRefreshMs: env.WHATSAPP_TYPING_REFRESH_MS, maxMs: env.TYPING_MAX_MS });
  const onCall = deps.onCall ?? [];
  const handoffs = new HandoffNotifier({
    database: ctx.database,
    channels: onCall,
    logger: ctx.logger.child({ component: 'handoff-notifier' }),
    // Operators open the link from their phone: the public URL when there is one.
    dashboardBase: () => env.PUBLIC_URL ?? ctx.localBaseUrl(),
  });
  const schedules = new PeopleSchedules({
    database: ctx.database,
    logger: ctx.logger.child({ component: 'people-schedules' }),
    idleMinutes: env.HANDOFF_IDLE_MINUTES,
    retentionDays: env.RETENTION_DAYS,
  });
  const keywords = keywordSets({
    handoff: env.HANDOFF_KEYWORDS,
    optOut: env.OPT_OUT_KEYWORDS,
    optIn: env.OPT_IN_KEYWORDS,
  });
  // Claims, history loads and commits of all turns share half the pool (at most WORKER_CONCURRENCY
  // connections): the webhook ingest, the dispatcher and the heartbeat keep the rest.
  const turnDb = sharedDatabase(
    ctx.database,
    new Semaphore(Math.max(1, Math.min(env.WORKER_CONCURRENCY, Math.floor(env.DATABASE_POOL_SIZE / 2)))),
  );
  // The turns of one claimed batch start together: their history windows come in one statement.
  const history = new HistoryLoader(turnDb);
  const worker = new InboxWorker({
    database: turnDb,
    heartbeatDatabase: ctx.database,
    logger: ctx.logger.child({ component: 'inbox-worker' }),
    concurrency: env.WORKER_CONCURRENCY,
    // Turns mostly wait on the LLM (holding no connection): as many run as the LLM gate admits.
    maxTurns: env.LLM_MAX_CONCURRENCY + env.WORKER_CONCURRENCY,
    leaseMs: env.INBOX_LEASE_MS,
    debounceMs: env.COALESCE_DEBOUNCE_MS,
    pollMs: env.WORKER_POLL_MS,
    maxAttempts: env.INBOX_MAX_ATTEMPTS,
    retryBaseMs: env.INBOX_RETRY_BASE_MS,
    graceMs: Math.max(env.SHUTDOWN_GRACE_MS - 2000, 500),
    events: deps.inboxEvents,
    // No silent dead letters: the user hears once (per DEAD_LETTER_NOTICE_MINUTES) that it failed.
    onDead: async (tx, turn) => {
      const conv = turn.conversation;
      const last = turn.messages[turn.messages.length - 1];
      const queued = await queueDeadLetterNotice(tx, conv, last.id, {
        defaultLocale: env.ASSISTANT_LOCALE,
        intervalMinutes: env.DEAD_LETTER_NOTICE_MINUTES,
        sender: senders.get(conv.channel as ChannelName),
      });
      if (queued) setImmediate(() => outboxEvents.emit('queued'));
    },
    handle: (turn, signal, lease) =>
      runTurn(
        {
          database: turnDb,
          logger: ctx.logger.child({ component: 'turn' }),
          assistant,
          sender: (channel) => senders.get(channel),
          typing,
          defaultLocale: env.ASSISTANT_LOCALE,
          historyTokens: env.ASSISTANT_HISTORY_TOKENS,
          history,
          tools: deps.tools,
          onQueued: () => outboxEvents.emit('queued'),
          keywords,
          notifyHandoffs: onCall.length > 0,
          onHandoff: () => handoffs.wake(),
          media,
        },
        turn,
        signal,
        lease,
      ),
  });
  const dispatcher = new OutboxDispatcher({
    database: ctx.database,
    logger: ctx.logger.child({ component: 'outbox' }),
    senders: () => senders,
    concurrency: env.OUTBOX_CONCURRENCY,
    maxAttempts: env.OUTBOX_MAX_ATTEMPTS,
    retryBaseMs: env.OUTBOX_RETRY_BASE_MS,
    leaseMs: env.INBOX_LEASE_MS,
    pollMs: env.WORKER_POLL_MS,
    events: outboxEvents,
    onSending: (id) => typing.stop(id),
    templates: ctx.config.templates,
    defaultLocale: env.ASSISTANT_LOCALE,
  });
  // Work stored or put back by any process (webhooks in a `web` process, an operator's reply, a
  // replayed dead letter) wakes the loops through LISTEN/NOTIFY (migration 0009's triggers).
  const withDispatcher = env.OUTBOX_CONCURRENCY > 0;
  let subscription: Subscription | undefined;
  const signals = {
    name: 'work-signals',
    start() {
      const sub = ctx.database.listen(withDispatcher ? [INBOX_CHANNEL, OUTBOX_CHANNEL] : [INBOX_CHANNEL], {
        onNotify: (channel) => (channel === INBOX_CHANNEL ? worker.notified() : dispatcher.wake()),
        onState: (listening) => {
          worker.setSignalled(listening);
          dispatcher.setSignalled(listening);
          if (!listening) ctx.logger.warn('database notifications lost: polling for work until they are back');
        },
      });
      subscription = sub;
      worker.setSignalled(sub.listening);
      dispatcher.setSignalled(sub.listening);
    },
    async stop() {
      await subscription?.close();
      subscription = undefined;
    },
  };
  return {
    name: 'conversation',
    // Replies queued but not yet sent at shutdown stay in the outbox for the next process.
    services: [signals, ...(withDispatcher ? [worker, dispatcher] : [worker]), handoffs, schedules],
    async close() {
      typing.stopAll();
    },
  };
}
