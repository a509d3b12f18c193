/**
 * The conversation engine as a WADI feature: the assistant (registered as 'assistant.status'),
 * the inbox workers that run turns and the outbox dispatcher that sends replies. Workers and the
 * dispatcher run in every role but `web`.
 */
import { EventEmitter } from 'node:events';
import type { ModuleFactory } from '../app/module.ts';
import { contribute, lookup, provide, senders } from '../app/shared.ts';
import { createAssistant } from '../assistant/factory.ts';
import { InboxWorker } from '../inbox/worker.ts';
import { createMediaService } from '../media/factory.ts';
import { OutboxDispatcher } from '../outbox/dispatcher.ts';
import { runTurn } from './turn.ts';
import { TypingKeeper } from './typing.ts';

/** Registry key of the conversation engine's parts (tests, admin). */
export const CONVERSATION_ENGINE_KEY = 'conversation.engine';

/** Builds the engine. */
export const conversationModule: ModuleFactory = (ctx) => {
  const env = ctx.config.env;
  const assistant = createAssistant(ctx.config, () => ctx.localBaseUrl());
  provide(ctx, 'assistant.status', assistant);
  contribute(ctx, 'admin.dependencyChecks').push({
    name: 'llm',
    componentType: 'component',
    run: () =>
      assistant.breakerOpen()
        ? { status: 'warn', output: `circuit breaker open: ${assistant.lastError() ?? 'LLM failing'}` }
        : { status: 'pass', observedValue: assistant.name },
  });
  if (ctx.role === 'web') return { name: 'conversation' };

  const media = createMediaService(ctx.config, () => ctx.localBaseUrl());
  const outboxEvents = new EventEmitter();
  const typing = new TypingKeeper();
  const worker = new InboxWorker({
    database: ctx.database,
    logger: ctx.logger.child({ component: 'inbox-worker' }),
    concurrency: env.WORKER_CONCURRENCY,
    leaseMs: env.INBOX_LEASE_MS,
    debounceMs: env.COALESCE_DEBOUNCE_MS,
    pollMs: env.WORKER_POLL_MS,
    maxAttempts: env.INBOX_MAX_ATTEMPTS,
    retryBaseMs: env.INBOX_RETRY_BASE_MS,
    graceMs: Math.max(env.SHUTDOWN_GRACE_MS - 2000, 500),
    events: lookup(ctx, 'inbox.events'),
    handle: (turn, signal) =>
      runTurn(
        {
          database: ctx.database,
          logger: ctx.logger.child({ component: 'turn' }),
          assistant,
          sender: (channel) => senders(ctx).get(channel),
          typing,
          defaultLocale: env.ASSISTANT_LOCALE,
          historyTokens: env.ASSISTANT_HISTORY_TOKENS,
          maxAttempts: env.INBOX_MAX_ATTEMPTS,
          retryBaseMs: env.INBOX_RETRY_BASE_MS,
          onQueued: () => outboxEvents.emit('queued'),
          media,
        },
        turn,
        signal,
      ),
  });
  const dispatcher = new OutboxDispatcher({
    database: ctx.database,
    logger: ctx.logger.child({ component: 'outbox' }),
    senders: () => senders(ctx),
    concurrency: env.OUTBOX_CONCURRENCY,
    maxAttempts: env.OUTBOX_MAX_ATTEMPTS,
    retryBaseMs: env.OUTBOX_RETRY_BASE_MS,
    leaseMs: env.INBOX_LEASE_MS,
    pollMs: env.WORKER_POLL_MS,
    events: outboxEvents,
    onSending: (id) => typing.stop(id),
  });
  ctx.registry.set(CONVERSATION_ENGINE_KEY, { assistant, worker, dispatcher });
  return {
    name: 'conversation',
    // Replies queued but not yet sent at shutdown stay in the outbox for the next process.
    services: env.OUTBOX_CONCURRENCY > 0 ? [worker, dispatcher] : [worker],
    async close() {
      typing.stopAll();
    },
  };
};
