/**
 * The admin API's contract, written once: every request and response shape of /admin/*, as zod
 * schemas. `schemas.ts` turns them into the JSON schemas Fastify validates input with, serialises
 * output with (undeclared fields are dropped) and publishes in /admin/openapi.json; the types below
 * are what the query functions return and what the dashboard (web/) imports, type-only.
 *
 * Imports nothing but zod, so `import type` from web/ pulls no server code into the bundle.
 * Formats are declared with `.meta({ format })` rather than zod's own string formats: Fastify's
 * validator (ajv with ajv-formats) checks them, exactly as before this file existed.
 */
import { z } from 'zod';

// ---------------------------------------------------------------------------------------------
// Building blocks

/** A WhatsApp or Telegram channel. */
export const channelName = z.enum(['whatsapp', 'telegram']);
/** An ISO 8601 instant. */
export const instant = z.string().meta({ format: 'date-time' });
/** An ISO 8601 instant that may be null. */
export const nullableInstant = instant.nullable();

/** `{error: {code, message}}`: every non-2xx answer of the admin API. */
export const errorBody = z.object({ error: z.object({ code: z.string(), message: z.string() }) });

/** `:id` path parameter: a positive integer. */
export const idParams = z.object({ id: z.int().min(1) });

// ---------------------------------------------------------------------------------------------
// Sessions (conversations)

/**
 * Who has a conversation: `needs_human` (the user asked for a person, the bot is silent),
 * `paused` (an operator took over), `opted_out` (no proactive messages), `blocked`, `active`.
 */
export const conversationState = z.enum(['needs_human', 'paused', 'opted_out', 'blocked', 'active']);

/** A conversation (session). */
export const session = z.object({
  id: z.int(),
  channel: channelName,
  chatId: z.string(),
  userId: z.string().nullable(),
  displayName: z.string().nullable(),
  chatType: z.string(),
  firstSeenAt: instant,
  lastSeenAt: instant,
  lastInboundAt: nullableInstant,
  messagesIn: z.int(),
  messagesOut: z.int(),
  blocked: z.boolean(),
  paused: z.boolean(),
  contextResetAt: nullableInstant,
  active: z.boolean().describe('last message within the last 30 minutes'),
  state: conversationState,
  handoffRequestedAt: nullableInstant.describe('when the user asked for a person (state needs_human)'),
  operatorActiveAt: nullableInstant.describe('last operator reply, template or pause'),
  optedOutAt: nullableInstant.describe('when the user opted out of proactive messages'),
  unanswered: z.int().describe('messages that arrived while a person had the conversation and nobody answered'),
  failed: z.int().describe('outbound messages that could not be delivered'),
});

/** One stage of a message's life. */
export const stage = z.object({
  stage: z
    .string()
    .describe('in: received, claimed, llm_start, llm_end, done; out: created, sent, delivered, read, failed'),
  at: instant,
});

/** What WADI understood of an inbound voice note, image, document… (src/media). */
export const mediaInfo = z.object({
  kind: z.string().describe('audio, image, sticker, document, video, location, contacts'),
  outcome: z.string().describe('transcribed, extracted, image, caption_only, described, too_large, gone, …'),
  bytes: z.int().nullable().describe('bytes downloaded'),
  mimeType: z.string().nullable(),
  fileName: z.string().nullable(),
  text: z.string().nullable().describe('the transcript, extracted text or "[image] caption" the model read'),
  truncated: z.boolean().describe('the document had more text than MEDIA_MAX_DOCUMENT_CHARS'),
});

/** One message with its stage timeline. */
export const message = z.object({
  direction: z.enum(['in', 'out']),
  id: z.int(),
  at: instant,
  kind: z.string(),
  /** Outbound: the text as it went out (the plain resend when the platform refused its formatting). */
  text: z.string().nullable(),
  format: z
    .enum(['plain', 'whatsapp', 'telegram_html'])
    .describe('how `text` is written: plain, WhatsApp markup, or Telegram HTML (parse_mode HTML)'),
  status: z.string(),
  attempts: z.int(),
  timeline: z.array(stage),
  failureReason: z.string().nullable(),
  /** Outbound: which inbound message it answers; inbound: the row whose turn answered it. */
  relatedId: z.int().nullable(),
  part: z.int().nullable(),
  author: z
    .enum(['user', 'assistant', 'operator', 'wadi'])
    .describe('user: inbound; assistant: the bot; operator: a person via the admin API; wadi: notices'),
  template: z
    .object({ name: z.string(), language: z.string() })
    .nullable()
    .describe('sent (or to be sent) as this WhatsApp template'),
  /** Inbound media: what was understood of it (null for text and outbound messages). */
  media: mediaInfo.nullable(),
});

/** GET /admin/sessions query. */
export const sessionsQuery = z.object({
  active: z.boolean().optional().describe('true: last message within 30 minutes; false: older'),
  channel: channelName.optional(),
  q: z.string().max(200).optional().describe('search in display name, chat id and user id'),
  cursor: z.string().max(500).optional().describe('nextCursor of the previous page'),
  limit: z.int().min(1).max(200).default(50),
  status: z
    .enum(['needs_human', 'unanswered', 'failed', 'paused', 'opted_out'])
    .optional()
    .describe('needs_human: waiting for a person; unanswered: has unanswered messages; failed: has failed replies'),
});

/** GET /admin/sessions answer. */
export const sessionPage = z.object({
  items: z.array(session),
  nextCursor: z.string().nullable().describe('null on the last page'),
});

/** GET /admin/sessions/:id/messages query. */
export const sessionMessagesQuery = z.object({ limit: z.int().min(1).max(1000).default(200) });

/** One tool call of a conversation's turns, arguments and result redacted of configured secrets. */
export const toolCall = z.object({
  id: z.int(),
  inboxId: z.int().describe("the turn's first inbound message"),
  step: z.int(),
  tool: z.string().describe('search_knowledge or <server>__<tool>'),
  arguments: z.string().describe('JSON text, secrets redacted, cut at 2000 characters'),
  result: z.string().nullable().describe('what the model got back; null while in flight'),
  outcome: z.string().describe('started, ok, error, timeout, unavailable, refused'),
  startedAt: instant,
  finishedAt: nullableInstant,
});

/** GET /admin/sessions/:id/messages answer. */
export const sessionMessages = z.object({
  session,
  messages: z.array(message),
  toolCalls: z.array(toolCall).optional().describe('tool calls of the turns shown, oldest first'),
});

/** POST /admin/sessions/:id/{reset,pause,resume} answer. */
export const sessionResponse = z.object({ session });

/** POST /admin/sessions/:id/messages body: an operator's reply. */
export const operatorMessageBody = z.strictObject({
  text: z.string().min(1).max(4096).describe('sent as is, split at the platform limit if needed'),
});

/** POST /admin/sessions/:id/messages answer: the queued parts. */
export const operatorMessageSent = z.object({ session, messages: z.array(message) });

/** POST /admin/sessions/:id/template body: a WhatsApp template to re-engage the user. */
export const templateBody = z.strictObject({
  name: z
    .string()
    .regex(/^[a-z0-9_]{1,512}$/)
    .describe('approved template name'),
  language: z
    .string()
    .regex(/^[a-z]{2,3}(_[A-Z]{2,4})?$/)
    .describe('template language code, e.g. es or en_US'),
  parameters: z.array(z.string().min(1).max(1024)).max(20).default([]).describe('body parameters {{1}}, {{2}}…'),
});

/** POST /admin/sessions/:id/answer answer: how many unanswered messages went to the assistant. */
export const answerQueued = z.object({ session, queued: z.int() });

/** DELETE /admin/users/:channel/:id path. */
export const userParams = z.object({
  channel: channelName,
  id: z
    .string()
    .regex(/^-?[0-9]{1,20}$/)
    .describe('WhatsApp wa_id or Telegram user id'),
});

/** DELETE /admin/users/:channel/:id answer. */
export const userErased = z.object({
  channel: channelName,
  userHash: z.string().describe('SHA-256 of channel:id, as kept in the audit log'),
  erased: z.object({
    conversations: z.int(),
    inbound: z.int(),
    outbound: z.int(),
    history: z.int(),
    statusEvents: z.int(),
    toolCalls: z.int().describe('tool calls made for their messages (arguments and results)'),
    unstorable: z.int().describe('raw deliveries the database could not store that named the user'),
  }),
});

// ---------------------------------------------------------------------------------------------
// Dead letters

/** A dead letter: an inbound message that failed every attempt. */
export const deadLetter = z.object({
  id: z.int(),
  channel: z.string(),
  chatId: z.string(),
  conversationId: z.int().nullable(),
  kind: z.string(),
  text: z.string().nullable(),
  attempts: z.int(),
  lastError: z.string().nullable(),
  receivedAt: instant,
  userNotified: z
    .boolean()
    .describe('the user was told this message could not be answered (rate-limited per conversation)'),
});

/** GET /admin/dead-letters query. */
export const deadLettersQuery = z.object({
  cursor: z
    .string()
    .regex(/^[0-9]{1,18}$/)
    .optional()
    .describe('nextCursor of the previous page'),
  limit: z.int().min(1).max(200).default(50),
});

/** GET /admin/dead-letters answer. */
export const deadLetterPage = z.object({ items: z.array(deadLetter), nextCursor: z.string().nullable() });

/** POST /admin/messages/:id/replay answer. */
export const replayed = z.object({ id: z.int(), status: z.string() });

// ---------------------------------------------------------------------------------------------
// Operations

/** A dependency as /admin/health shows it. */
export const dependency = z.object({
  name: z.string(),
  componentType: z.string().nullable(),
  status: z.enum(['pass', 'warn', 'fail']),
  latencyMs: z.number().nullable(),
  detail: z.string().nullable(),
  observedValue: z.string().nullable(),
});

/** GET /admin/health answer. */
export const healthView = z.object({
  status: z.enum(['pass', 'warn', 'fail']),
  checkedAt: instant,
  shuttingDown: z.boolean(),
  dependencies: z.array(dependency),
});

/** Log levels, lowest first. */
export const logLevel = z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']);

/** GET /admin/logs query. */
export const logsQuery = z.object({
  limit: z.int().min(1).max(5000).default(200),
  level: logLevel.optional().describe('minimum level'),
  since: instant.optional().describe('only records after this instant'),
  q: z.string().max(200).optional().describe('text anywhere in the record (message or any field), any case'),
  route: z.string().max(300).optional().describe('request lines of this route template only'),
  conversation: z.int().min(1).optional().describe('records about this conversation id'),
  sandbox: z.boolean().default(false).describe("include the sandbox fakes' own requests (/sandbox/...)"),
});

/** One log record: pino's fields, all kept. */
export const logRecord = z.looseObject({ level: z.string(), time: z.string(), msg: z.string().optional() });

/** GET /admin/logs answer. */
export const logs = z.object({
  capacity: z.int(),
  records: z.array(logRecord),
  routes: z.array(z.string()).describe('route templates of the request lines in the buffer'),
  hiddenSandbox: z.int().describe("records that matched but were the sandbox's own calls (hidden)"),
});

/** Counts of outbound messages by status (every status WADI knows is present). */
export const outcomeCounts = z
  .object({
    pending: z.int(),
    sending: z.int(),
    sent: z.int(),
    delivered: z.int(),
    read: z.int(),
    failed: z.int(),
  })
  .catchall(z.int());

/** GET /admin/queues answer: inbox backlog and outbound outcomes. */
export const queues = z.object({
  inbox: z.object({
    pending: z.int(),
    processing: z.int(),
    dead: z.int(),
    oldestPendingSeconds: z.int().nullable(),
  }),
  outbound: z.object({ lastHour: outcomeCounts, last24h: outcomeCounts }),
});

/** Request statistics over one window. */
export const windowStats = z.object({
  windowSeconds: z.int(),
  requests: z.int(),
  rps: z.number(),
  p95Ms: z.number().nullable(),
  /** 4xx+5xx share of requests (what the Overview charts). */
  errorRate: z.number(),
  /** Requests answered 5xx (what HighErrorRate counts). */
  serverErrors: z.int(),
});

/** GET /admin/stats query. */
export const statsQuery = z.object({ minutes: z.int().min(1).max(1440).default(60) });

/** GET /admin/stats answer. */
export const stats = z.object({
  windows: z.object({ '1m': windowStats, '5m': windowStats, '15m': windowStats }),
  series: z.array(
    z.object({
      t: z.number().describe('minute start, Unix ms'),
      rps: z.number(),
      p95Ms: z.number().nullable(),
      errorRate: z.number(),
    }),
  ),
  ...queues.shape,
});

/** An alert. */
export const alert = z.object({
  alert: z.string(),
  state: z.enum(['pending', 'firing', 'resolved']),
  value: z.string().optional(),
  threshold: z.string().optional(),
  summary: z.string().optional(),
  startedAt: z.string(),
  resolvedAt: z.string().optional(),
  runbook: z.string().optional(),
});

/** GET /admin/alerts query. */
export const alertsQuery = z.object({ limit: z.int().min(1).max(500).default(50) });

/** One alert rule with the leader's last reading. */
export const alertRule = z.object({
  alert: z.string(),
  state: z.enum(['ok', 'pending', 'firing', 'no_data']),
  value: z.string().optional(),
  threshold: z.string(),
  summary: z.string(),
  forSeconds: z.int(),
  since: z.string().optional(),
  runbook: z.string(),
});

/** GET /admin/alerts answer. */
export const alerts = z.object({
  /** Firing now. */
  firing: z.array(alert),
  /** Condition holds, not yet for the rule's `for`: nobody has been notified. */
  pending: z.array(alert),
  recent: z.array(alert),
  /** Every rule, its current value and state; evaluatedAt is the leader's last round (absent before the first). */
  rules: z.object({ evaluatedAt: z.string().optional(), items: z.array(alertRule) }),
  /** Configured alert destinations ("telegram", "slack"); empty means alerts reach nobody. */
  destinations: z.array(z.string()),
});

/** GET /admin/status answer: are users being answered right now? */
export const statusView = z.object({
  checkedAt: instant,
  lastInbound: z
    .array(z.object({ channel: z.string(), at: instant }))
    .describe('last message from a user, per channel'),
  perMinute: z.object({ inbound: z.number(), outbound: z.number(), minutes: z.int() }),
  timeToReply: z.object({
    p50Ms: z.int().nullable(),
    p95Ms: z.int().nullable(),
    replies: z.int(),
    minutes: z.int(),
  }),
  attention: z.object({
    failed: z.int().describe('outbound messages failed in the last 24 h'),
    retrying: z.int(),
    needsHuman: z.int(),
    unanswered: z.int(),
    dead: z.int(),
  }),
});

/** An outbound message that failed or is waiting for a retry. */
export const outboundFailure = z.object({
  id: z.int(),
  channel: z.string(),
  chatId: z.string(),
  conversationId: z.int().nullable(),
  kind: z.string(),
  text: z.string(),
  status: z.string().describe('failed, or pending/sending while retrying'),
  attempts: z.int(),
  failureReason: z.string().nullable(),
  errorCode: z.string().nullable(),
  errorTitle: z.string().nullable(),
  createdAt: instant,
  failedAt: nullableInstant,
  nextAttemptAt: nullableInstant.describe('when a retrying message is tried again'),
});

/** GET /admin/failures query. */
export const failuresQuery = z.object({ limit: z.int().min(1).max(500).default(100) });

/** GET /admin/failures answer: failed and retrying outbound messages, and dead letters. */
export const failures = z.object({
  failed: z.array(outboundFailure),
  retrying: z.array(outboundFailure),
  dead: z.array(deadLetter),
});

/** GET /admin/info answer. */
export const info = z.object({
  role: z.string(),
  sandbox: z.boolean(),
  production: z.boolean(),
  channels: z.array(z.string()),
  features: z.object({ stats: z.boolean(), alerts: z.boolean() }),
  pid: z.int(),
  uptimeSeconds: z.int(),
});

// ---------------------------------------------------------------------------------------------
// Sandbox ("Try it")

/** POST /admin/sandbox/send body. */
export const sandboxSendBody = z.strictObject({
  channel: channelName,
  from: z
    .string()
    .regex(/^[1-9][0-9]{4,14}$/)
    .describe('WhatsApp wa_id (phone digits) or Telegram user id'),
  name: z.string().min(1).max(64).default('Sandbox user'),
  text: z.string().max(4096).default('').describe('the message, or the caption of `media`; required without media'),
  media: z
    .strictObject({
      id: z
        .string()
        .regex(/^[0-9]{1,32}$/)
        .describe('from POST /admin/sandbox/media'),
      kind: z.enum(['voice', 'image', 'document']),
    })
    .optional()
    .describe('send a media message (voice note, image or document) instead of a text'),
});

/** POST /admin/sandbox/media query (the body is the file's bytes, its Content-Type the file's type). */
export const sandboxMediaQuery = z.strictObject({
  filename: z.string().min(1).max(255).optional(),
});

/** POST /admin/sandbox/media answer: the file as the fake Graph API and Bot API serve it. */
export const sandboxMedia = z.object({
  id: z.string().describe('media id (WhatsApp) and file_id (Telegram); pass as media.id to /admin/sandbox/send'),
  mimeType: z.string(),
  fileName: z.string().nullable(),
  size: z.int(),
  sha256: z.string(),
});

/** POST /admin/sandbox/send answer. */
export const sandboxSent = z.object({
  channel: z.string(),
  chat: z.string(),
  externalId: z.string(),
  webhookStatus: z.int(),
  afterSeq: z.int().describe('pass as `after` to /admin/sandbox/replies'),
});

/** GET /admin/sandbox/replies query. */
export const sandboxRepliesQuery = z.object({
  channel: channelName,
  chat: z.string().max(64),
  after: z.int().min(0).default(0).describe('only calls after this sequence number'),
});

/** A text WADI sent to a sandbox chat, as the fake platform API received it. */
export const sandboxReply = z.object({
  seq: z.int(),
  at: z.string(),
  text: z.string(),
  status: z.int().describe('HTTP status the fake answered'),
  platformMessageId: z.string().nullable(),
});

/** GET /admin/sandbox/replies answer. */
export const sandboxReplies = z.object({
  replies: z.array(sandboxReply),
  lastSeq: z.int().describe('newest call seen on this channel; poll with after=lastSeq'),
});

// ---------------------------------------------------------------------------------------------
// Knowledge

/** One synced file of KNOWLEDGE_DIR. */
export const knowledgeSource = z.object({
  path: z.string().describe('relative to KNOWLEDGE_DIR'),
  bytes: z.int(),
  chunks: z.int(),
  language: z.string().describe('text search configuration: spanish or english'),
  syncedAt: instant,
});

/** The last knowledge sync run. */
export const knowledgeSync = z.object({
  trigger: z.string().describe('cli, start or schedule'),
  startedAt: instant,
  finishedAt: instant,
  added: z.int(),
  updated: z.int(),
  unchanged: z.int(),
  removed: z.int(),
  failed: z.int(),
  errors: z.array(z.object({ path: z.string(), error: z.string() })),
});

/** GET /admin/knowledge answer. */
export const knowledgeView = z.object({
  configured: z.boolean().describe('KNOWLEDGE_DIR is set'),
  sources: z.array(knowledgeSource),
  totalChunks: z.int(),
  lastSync: knowledgeSync.nullable(),
});

// ---------------------------------------------------------------------------------------------
// Types: requests as the handlers see them (defaults applied), answers as they are sent.

export type ChannelName = z.output<typeof channelName>;
export type ErrorBody = z.output<typeof errorBody>;
export type IdParams = z.output<typeof idParams>;
export type Session = z.output<typeof session>;
export type Stage = z.output<typeof stage>;
export type Message = z.output<typeof message>;
export type ToolCall = z.output<typeof toolCall>;
export type KnowledgeView = z.output<typeof knowledgeView>;
export type SessionsQuery = z.output<typeof sessionsQuery>;
export type SessionPage = z.output<typeof sessionPage>;
export type SessionMessagesQuery = z.output<typeof sessionMessagesQuery>;
export type SessionMessages = z.output<typeof sessionMessages>;
export type SessionResponse = z.output<typeof sessionResponse>;
export type ConversationState = z.output<typeof conversationState>;
export type OperatorMessageBody = z.output<typeof operatorMessageBody>;
export type OperatorMessageSent = z.output<typeof operatorMessageSent>;
export type TemplateBody = z.output<typeof templateBody>;
export type AnswerQueued = z.output<typeof answerQueued>;
export type UserParams = z.output<typeof userParams>;
export type UserErased = z.output<typeof userErased>;
export type DeadLetter = z.output<typeof deadLetter>;
export type DeadLettersQuery = z.output<typeof deadLettersQuery>;
export type DeadLetterPage = z.output<typeof deadLetterPage>;
export type Replayed = z.output<typeof replayed>;
export type Dependency = z.output<typeof dependency>;
export type HealthView = z.output<typeof healthView>;
export type LogsQuery = z.output<typeof logsQuery>;
export type LogRecord = z.output<typeof logRecord>;
export type Logs = z.output<typeof logs>;
export type OutcomeCounts = z.output<typeof outcomeCounts>;
export type Queues = z.output<typeof queues>;
export type WindowStats = z.output<typeof windowStats>;
export type StatsQuery = z.output<typeof statsQuery>;
export type Stats = z.output<typeof stats>;
export type Alert = z.output<typeof alert>;
export type AlertsQuery = z.output<typeof alertsQuery>;
export type Alerts = z.output<typeof alerts>;
export type AlertRule = z.output<typeof alertRule>;
export type Info = z.output<typeof info>;
export type StatusView = z.output<typeof statusView>;
export type OutboundFailure = z.output<typeof outboundFailure>;
export type Failures = z.output<typeof failures>;
export type SandboxSendBody = z.output<typeof sandboxSendBody>;
export type SandboxSent = z.output<typeof sandboxSent>;
export type SandboxMediaQuery = z.output<typeof sandboxMediaQuery>;
export type SandboxMedia = z.output<typeof sandboxMedia>;
export type SandboxRepliesQuery = z.output<typeof sandboxRepliesQuery>;
export type SandboxReply = z.output<typeof sandboxReply>;
export type SandboxReplies = z.output<typeof sandboxReplies>;
