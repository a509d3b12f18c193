/**
 * The database schema, shared by PGlite and PostgreSQL. Migrations in migrations/ are generated from
 * this file by drizzle-kit (`npm run db:generate`) and never edited once landed.
 *
 * PostgreSQL is both the source of truth and the queue: `inbox_messages` and `outbox_messages` are
 * claimed with FOR UPDATE SKIP LOCKED and leases (see src/inbox and src/outbox).
 */
import { sql } from 'drizzle-orm';
import {
  bigint,
  bigserial,
  boolean,
  customType,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

/** One user's conversation on one channel: the "sessions" of the admin panel. */
export const conversations = pgTable(
  'conversations',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    channel: text('channel').notNull(),
    /** Where replies go: WhatsApp wa_id, Telegram chat id. */
    chatId: text('chat_id').notNull(),
    /** The platform user id of the person (same as chat_id in private chats). */
    userId: text('user_id'),
    displayName: text('display_name'),
    chatType: text('chat_type').notNull().default('private'),
    locale: text('locale'),
    firstSeenAt: ts('first_seen_at').notNull().defaultNow(),
    lastSeenAt: ts('last_seen_at').notNull().defaultNow(),
    /** Last message from the user: opens WhatsApp's 24 h customer-service window. */
    lastInboundAt: ts('last_inbound_at'),
    /** Inbound messages (exact for sequential redeliveries; concurrent ones may count twice). */
    messagesIn: integer('messages_in').notNull().default(0),
    messagesOut: integer('messages_out').notNull().default(0),
    /** The user blocked the bot (Telegram 403): WADI stops writing. */
    blocked: boolean('blocked').notNull().default(false),
    /** A human took over: WADI stays silent. */
    paused: boolean('paused').notNull().default(false),
    /** History before this instant is forgotten (/reset). */
    contextResetAt: ts('context_reset_at'),
    /** The assistant-unavailable notice was sent and not yet followed by a real answer. */
    fallbackNotifiedAt: ts('fallback_notified_at'),
    /** Last "your message could not be answered" notice (dead letter), for its per-conversation rate limit. */
    deadLetterNotifiedAt: ts('dead_letter_notified_at'),
    /** The worker turn holding this conversation (src/inbox/claim.ts): one turn at a time. */
    leaseOwner: text('lease_owner'),
    leaseUntil: ts('lease_until'),
    meta: jsonb('meta').$type<Record<string, unknown>>().notNull().default({}),
    /** The user asked for a person (`needs_human`): the bot stays silent until resumed. */
    handoffRequestedAt: ts('handoff_requested_at'),
    /** How the person was asked for: command (/human), keyword, tool. */
    handoffTrigger: text('handoff_trigger'),
    /** When on-call is due to be told about the handoff (null: nothing to tell). */
    handoffNotifyAt: ts('handoff_notify_at'),
    handoffNotifyAttempts: integer('handoff_notify_attempts').notNull().default(0),
    /** Last operator action (pause, reply, template): the idle auto-resume counts from here. */
    operatorActiveAt: ts('operator_active_at'),
    /** The user opted out (`opted_out`, STOP/BAJA): nothing proactive is sent. */
    optedOutAt: ts('opted_out_at'),
  },
  (t) => [
    uniqueIndex('conversations_channel_chat_uq').on(t.channel, t.chatId),
    index('conversations_last_seen_idx').on(t.lastSeenAt),
    index('conversations_handoff_notify_idx').on(t.handoffNotifyAt).where(sql`${t.handoffNotifyAt} is not null`),
    index('conversations_paused_idx').on(t.id).where(sql`${t.paused}`),
  ],
);

/** Inbound events, stored before the webhook is acknowledged; the workers' queue. */
export const inboxMessages = pgTable(
  'inbox_messages',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    channel: text('channel').notNull(),
    /** Platform id used for dedupe: the wamid, or `update:<update_id>` on Telegram. */
    externalId: text('external_id').notNull(),
    chatId: text('chat_id').notNull(),
    conversationId: bigint('conversation_id', { mode: 'number' }).references(() => conversations.id),
    /** Channel-neutral kind: text, image, audio, location, command, callback, edited, reaction, … */
    kind: text('kind').notNull(),
    /** The channel-neutral event (see src/channels/types.ts). */
    event: jsonb('event').$type<Record<string, unknown>>().notNull(),
    /** pending → processing → done | dead | ignored; `unanswered`: arrived while a human had the conversation */
    status: text('status').notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    availableAt: ts('available_at').notNull().defaultNow(),
    leaseOwner: text('lease_owner'),
    leaseUntil: ts('lease_until'),
    lastError: text('last_error'),
    /** W3C traceparent of the request that stored it, so one trace spans web and worker. */
    traceContext: text('trace_context'),
    /** When the platform says the user sent it. */
    sentAt: ts('sent_at'),
    receivedAt: ts('received_at').notNull().defaultNow(),
    claimedAt: ts('claimed_at'),
    llmStartedAt: ts('llm_started_at'),
    llmEndedAt: ts('llm_ended_at'),
    doneAt: ts('done_at'),
    /** The inbox row whose turn answered this one (burst coalescing). */
    answeredBy: bigint('answered_by', { mode: 'number' }),
    /** Its text is already in `history` (stored while paused): a later turn does not add it again. */
    inHistory: boolean('in_history').notNull().default(false),
    /** What WADI understood of a voice note, image, document… (src/media), stored once per message. */
    media: jsonb('media').$type<Record<string, unknown>>(),
  },
  (t) => [
    index('inbox_unanswered_idx').on(t.conversationId, t.id).where(sql`${t.status} = 'unanswered'`),
    uniqueIndex('inbox_channel_external_uq').on(t.channel, t.externalId),
    index('inbox_pending_idx').on(t.availableAt, t.id).where(sql`status in ('pending', 'processing')`),
    index('inbox_chat_idx').on(t.channel, t.chatId, t.id),
    index('inbox_conversation_idx').on(t.conversationId, t.id),
  ],
);

/** Replies waiting to be sent, and the record of how each send ended. */
export const outboxMessages = pgTable(
  'outbox_messages',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    channel: text('channel').notNull(),
    chatId: text('chat_id').notNull(),
    conversationId: bigint('conversation_id', { mode: 'number' }).references(() => conversations.id),
    /** The inbound message this answers, if any. */
    inboxId: bigint('inbox_id', { mode: 'number' }),
    part: integer('part').notNull().default(0),
    /** text | notice (fallback/system text) | operator (a person's reply) | template (re-engagement) */
    kind: text('kind').notNull().default('text'),
    body: text('body').notNull(),
    /** Channel-specific send options (reply_to, parse_mode, …). */
    options: jsonb('options').$type<Record<string, unknown>>().notNull().default({}),
    /** pending → sending → sent → delivered → read | failed */
    status: text('status').notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    availableAt: ts('available_at').notNull().defaultNow(),
    leaseOwner: text('lease_owner'),
    leaseUntil: ts('lease_until'),
    platformMessageId: text('platform_message_id'),
    errorCode: text('error_code'),
    errorTitle: text('error_title'),
    errorDetail: text('error_detail'),
    /** Why it failed, in WADI's words: window_closed, blocked, permanent, retries_exhausted, … */
    failureReason: text('failure_reason'),
    traceContext: text('trace_context'),
    createdAt: ts('created_at').notNull().defaultNow(),
    sentAt: ts('sent_at'),
    deliveredAt: ts('delivered_at'),
    readAt: ts('read_at'),
    failedAt: ts('failed_at'),
  },
  (t) => [
    index('outbox_pending_idx').on(t.availableAt, t.id).where(sql`status in ('pending', 'sending')`),
    uniqueIndex('outbox_platform_id_uq').on(t.channel, t.platformMessageId),
    uniqueIndex('outbox_inbox_part_uq').on(t.inboxId, t.part, t.kind),
    index('outbox_conversation_idx').on(t.conversationId, t.id),
    index('outbox_failed_idx').on(t.conversationId, t.id).where(sql`${t.status} = 'failed'`),
  ],
);

/** Delivery status webhooks, deduplicated on (channel, platform id, status). */
export const statusEvents = pgTable(
  'status_events',
  {
    channel: text('channel').notNull(),
    platformMessageId: text('platform_message_id').notNull(),
    status: text('status').notNull(),
    occurredAt: ts('occurred_at'),
    receivedAt: ts('received_at').notNull().defaultNow(),
    applied: boolean('applied').notNull().default(false),
    detail: jsonb('detail').$type<Record<string, unknown>>(),
  },
  (t) => [primaryKey({ columns: [t.channel, t.platformMessageId, t.status] })],
);

/** The turns the assistant sees: user and assistant texts per conversation. */
export const history = pgTable(
  'history',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    conversationId: bigint('conversation_id', { mode: 'number' })
      .notNull()
      .references(() => conversations.id),
    role: text('role').notNull(),
    content: text('content').notNull(),
    tokens: integer('tokens').notNull().default(0),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [index('history_conversation_idx').on(t.conversationId, t.id)],
);

/** Small durable state: the Telegram polling offset, leader info, schedules. */
export const kv = pgTable('kv', {
  key: text('key').primaryKey(),
  value: jsonb('value').notNull(),
  updatedAt: ts('updated_at').notNull().defaultNow(),
});

/** Every admin action: who (key fingerprint, never the key), what, when, from where. */
export const auditLog = pgTable(
  'audit_log',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    at: ts('at').notNull().defaultNow(),
    keyFingerprint: text('key_fingerprint').notNull(),
    action: text('action').notNull(),
    target: text('target'),
    ip: text('ip'),
    detail: jsonb('detail').$type<Record<string, unknown>>(),
  },
  (t) => [index('audit_at_idx').on(t.at)],
);

/** Alert history: one row per firing episode, resolved when it ends. */
export const alertEvents = pgTable(
  'alert_events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    alert: text('alert').notNull(),
    state: text('state').notNull(),
    value: text('value'),
    threshold: text('threshold'),
    summary: text('summary'),
    startedAt: ts('started_at').notNull(),
    resolvedAt: ts('resolved_at'),
    lastNotifiedAt: ts('last_notified_at'),
    notifyErrors: integer('notify_errors').notNull().default(0),
  },
  (t) => [index('alert_events_alert_idx').on(t.alert, t.startedAt)],
);

/** PostgreSQL's full-text document type (drizzle has no built-in for it). */
const tsvector = customType<{ data: string }>({ dataType: () => 'tsvector' });

/** One file of KNOWLEDGE_DIR as last synced: its content hash decides whether it is read again. */
export const knowledgeSources = pgTable(
  'knowledge_sources',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    /** Path relative to KNOWLEDGE_DIR, with forward slashes. */
    path: text('path').notNull(),
    contentHash: text('content_hash').notNull(),
    /** Text search configuration the chunks were indexed with (spanish, english). */
    language: text('language').notNull(),
    bytes: bigint('bytes', { mode: 'number' }).notNull(),
    chunkCount: integer('chunk_count').notNull(),
    syncedAt: ts('synced_at').notNull().defaultNow(),
  },
  (t) => [uniqueIndex('knowledge_sources_path_uq').on(t.path)],
);

/** Searchable pieces of a knowledge source. */
export const knowledgeChunks = pgTable(
  'knowledge_chunks',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    sourceId: bigint('source_id', { mode: 'number' })
      .notNull()
      .references(() => knowledgeSources.id, { onDelete: 'cascade' }),
    ord: integer('ord').notNull(),
    content: text('content').notNull(),
    tsv: tsvector('tsv').notNull(),
  },
  (t) => [
    uniqueIndex('knowledge_chunks_source_ord_uq').on(t.sourceId, t.ord),
    index('knowledge_chunks_tsv_idx').using('gin', t.tsv),
  ],
);

/** One run of the knowledge sync, for GET /admin/knowledge ("last sync"). */
export const knowledgeSyncs = pgTable('knowledge_syncs', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  startedAt: ts('started_at').notNull(),
  finishedAt: ts('finished_at').notNull().defaultNow(),
  trigger: text('trigger').notNull(),
  added: integer('added').notNull(),
  updated: integer('updated').notNull(),
  unchanged: integer('unchanged').notNull(),
  removed: integer('removed').notNull(),
  failed: integer('failed').notNull(),
  errors: jsonb('errors').$type<{ path: string; error: string }[]>().notNull(),
});

/**
 * The tool-call journal: every tool call of a turn, recorded before the call (`started`) and with
 * its result before the result is used, so a turn retried after a crash replays instead of calling
 * again. A turn is keyed by its first inbox message; `step` numbers the calls within the turn.
 */
export const toolCalls = pgTable(
  'tool_calls',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    inboxId: bigint('inbox_id', { mode: 'number' })
      .notNull()
      .references(() => inboxMessages.id, { onDelete: 'cascade' }),
    conversationId: bigint('conversation_id', { mode: 'number' }).notNull(),
    step: integer('step').notNull(),
    /** Which model response asked for the call (calls of one response share a round). */
    round: integer('round').notNull(),
    /** The model's id for the call (tool results are matched to it). */
    callId: text('call_id').notNull(),
    tool: text('tool').notNull(),
    arguments: jsonb('arguments').notNull(),
    /** What the model was given back (JSON text); null while the call is in flight. */
    result: text('result'),
    /** started | ok | error | timeout | unavailable */
    outcome: text('outcome').notNull().default('started'),
    startedAt: ts('started_at').notNull().defaultNow(),
    finishedAt: ts('finished_at'),
  },
  (t) => [
    uniqueIndex('tool_calls_turn_step_uq').on(t.inboxId, t.step),
    index('tool_calls_conversation_idx').on(t.conversationId, t.id),
  ],
);

/**
 * Webhook deliveries the database could not store even after normalisation (src/inbox/writer.ts):
 * acknowledged so the platform stops retrying, kept here byte for byte (base64, which any text
 * column accepts) with the reason (SQLSTATE, never content) for an operator to look at.
 */
export const unstorableDeliveries = pgTable(
  'unstorable_deliveries',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    channel: text('channel').notNull(),
    receivedAt: ts('received_at').notNull().defaultNow(),
    reason: text('reason').notNull(),
    /** Events and statuses of the delivery that could not be stored. */
    items: integer('items').notNull(),
    bytes: integer('bytes').notNull(),
    rawBase64: text('raw_base64').notNull(),
  },
  (t) => [index('unstorable_received_idx').on(t.receivedAt)],
);
