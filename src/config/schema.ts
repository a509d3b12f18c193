/**
 * The one description of WADI's environment: every variable of CONTRACT.md plus WADI's own tuning
 * knobs, with defaults. Parsed once at start (see load.ts); nothing else reads process.env.
 */
import { Cron } from 'croner';
import { z } from 'zod';
import { trustProxyProblem } from './trust-proxy.ts';

const bool = (def: boolean) => z.stringbool().default(def);
const int = (def: number, min = 0, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce.number().int().min(min).max(max).default(def);
const num = (def: number, min = 0, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().min(min).max(max).default(def);
const optStr = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));
const optUrl = optStr.pipe(z.url().optional());
const list = z
  .string()
  .optional()
  .transform((v) =>
    (v ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );

/** Defaults of HANDOFF_KEYWORDS: Spanish first (ASSISTANT_LOCALE=es), English too. */
export const DEFAULT_HANDOFF_KEYWORDS = [
  'agente',
  'humano',
  'asesor',
  'asesora',
  'operador',
  'operadora',
  'persona real',
  'hablar con una persona',
  'agent',
  'human',
  'real person',
];
/** Defaults of OPT_OUT_KEYWORDS. */
export const DEFAULT_OPT_OUT_KEYWORDS = ['stop', 'baja', 'unsubscribe', 'darme de baja', 'stop all'];
/** Defaults of OPT_IN_KEYWORDS. */
export const DEFAULT_OPT_IN_KEYWORDS = ['start', 'alta', 'unstop', 'darme de alta'];

/** A comma-separated keyword list: unset means the defaults, empty means none. */
const keywords = (defaults: readonly string[]) =>
  z
    .string()
    .optional()
    .transform((v) =>
      v === undefined
        ? [...defaults]
        : v
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean),
    );

/** Raw environment schema: names exactly as operators set them. */
export const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: int(3000, 0, 65535),
  HOST: z.string().default('0.0.0.0'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LOG_FORMAT: z.enum(['json', 'pretty']).optional(),
  LOG_BUFFER_SIZE: int(1000, 10, 100_000),

  DATABASE_URL: optStr,
  WADI_DATA_DIR: z.string().default('./data'),
  WADI_MIGRATE_ON_START: bool(true),
  DATABASE_POOL_SIZE: int(10, 1, 200),
  REDIS_URL: optStr,

  ADMIN_API_KEY: list,
  CORS_ORIGINS: list,
  PUBLIC_URL: optUrl,
  /** Which proxies' X-Forwarded-* headers to believe; parsed and validated in trust-proxy.ts. */
  TRUST_PROXY: optStr.superRefine((v, ctx) => {
    const problem = v === undefined ? undefined : trustProxyProblem(v);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  }),

  WHATSAPP_APP_SECRET: optStr,
  WHATSAPP_VERIFY_TOKEN: optStr,
  WHATSAPP_ACCESS_TOKEN: optStr,
  WHATSAPP_PHONE_NUMBER_ID: optStr,
  WHATSAPP_GRAPH_URL: z.url().default('https://graph.facebook.com'),
  WHATSAPP_GRAPH_VERSION: z
    .string()
    .regex(/^v\d+\.\d+$/, 'must look like v24.0')
    .default('v24.0'),

  TELEGRAM_BOT_TOKEN: optStr,
  TELEGRAM_WEBHOOK_SECRET: optStr.pipe(
    z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,256}$/, 'must be 1-256 characters of A-Z a-z 0-9 _ -')
      .optional(),
  ),
  TELEGRAM_MODE: z.enum(['webhook', 'polling']).optional(),
  TELEGRAM_API_URL: z.url().default('https://api.telegram.org'),
  TELEGRAM_GROUP_REPLY: z.enum(['mention', 'always', 'never']).default('mention'),

  OPENAI_API_KEY: optStr,
  OPENAI_BASE_URL: optUrl,
  OPENAI_MODEL: z.string().default('gpt-4o-mini'),
  OPENAI_TIMEOUT_MS: int(30_000, 100),
  OPENAI_MAX_RETRIES: int(2, 0, 10),
  ASSISTANT_SYSTEM_PROMPT: optStr,
  ASSISTANT_SYSTEM_PROMPT_FILE: optStr,
  ASSISTANT_LOCALE: z.enum(['es', 'en']).default('es'),
  ASSISTANT_HISTORY_TOKENS: int(3000, 100),

  ALERT_TELEGRAM_CHAT_ID: optStr,
  ALERT_TELEGRAM_BOT_TOKEN: optStr,
  ALERT_SLACK_WEBHOOK_URL: optUrl,
  ALERT_HEALTH_FAILING_SECONDS: int(60, 1),
  ALERT_ERROR_RATE_PERCENT: num(5, 0, 100),
  ALERT_ERROR_RATE_WINDOW_SECONDS: int(300, 10),
  ALERT_ERROR_RATE_MIN_REQUESTS: int(20, 0),
  ALERT_CPU_PERCENT: num(80, 1, 100),
  ALERT_MEMORY_PERCENT: num(80, 1, 100),
  ALERT_RESOURCE_FOR_SECONDS: int(120, 0),
  ALERT_REPEAT_SECONDS: int(4 * 3600, 60),
  // Observability (src/features/alerts): thresholds of the rules beyond the contract's four.
  ALERT_INBOX_BACKLOG_SECONDS: int(300, 1),
  ALERT_OUTBOUND_FAILURE_PERCENT: num(20, 0, 100),
  ALERT_OUTBOUND_MIN_MESSAGES: int(10, 1),
  ALERT_BACKUP_STALE_SECONDS: int(26 * 3600, 60),
  ALERT_SIGNATURE_FAILURES_MIN: int(5, 1),
  /** Base URL of the docs (e.g. the repository on GitHub) so runbook links in alerts are clickable. */
  ALERT_RUNBOOK_BASE_URL: optUrl,

  WADI_SANDBOX: z.stringbool().optional(),
  /** Where this process reaches the sandbox fakes (a worker process points at its web process). */
  WADI_SANDBOX_URL: optUrl,

  // Backups (src/features/backup): where dumps go, when the leader takes them (cron, UTC), how long
  // they are kept, and where the PostgreSQL client tools live when not on PATH.
  BACKUP_DIR: z.string().default('./backups'),
  BACKUP_SCHEDULE: optStr.refine((v) => v === undefined || validCron(v), {
    message: 'not a valid cron expression (five fields, e.g. "0 3 * * *" for 03:00 UTC daily)',
  }),
  BACKUP_RETENTION_DAYS: int(30, 1),
  BACKUP_PG_BIN_DIR: optStr,

  METRICS_TOKEN: optStr,

  // Security hardening (src/http/security): HSTS and load shedding.
  HSTS_MAX_AGE: int(31_536_000, 0, 2 * 31_536_000),
  HSTS_PRELOAD: bool(false),
  /** Mean event-loop delay (ms) above which requests are shed with 503; 0 turns it off. */
  SHED_MAX_EVENT_LOOP_DELAY_MS: int(1000, 0),
  /** Heap used, as a percentage of V8's heap limit, above which requests are shed; 0 turns it off. */
  SHED_MAX_HEAP_PERCENT: num(90, 0, 100),
  /** Resident set size (MB) above which requests are shed; 0 (default) turns it off. */
  SHED_MAX_RSS_MB: int(0, 0),
  SHED_RETRY_AFTER_SECONDS: int(10, 1, 3600),
  OTEL_EXPORTER_OTLP_ENDPOINT: optUrl,

  SHUTDOWN_GRACE_MS: int(10_000, 0),
  SHUTDOWN_DELAY_MS: int(0, 0),
  WORKER_CONCURRENCY: int(8, 1, 256),
  INBOX_LEASE_MS: int(60_000, 1000),
  INBOX_MAX_ATTEMPTS: int(8, 1, 100),
  COALESCE_DEBOUNCE_MS: int(800, 0, 60_000),

  // Conversation engine (src/inbox/claim.ts, src/conversation, src/assistant, src/outbox)
  /**
   * Safety-net poll of idle workers and dispatchers (expired leases of crashed processes): they
   * wake on LISTEN/NOTIFY and in-process signals; while the notification connection is down they
   * poll every min(WORKER_POLL_MS, 500 ms) instead.
   */
  WORKER_POLL_MS: int(5000, 10, 60_000),
  /** First retry delay of a failed turn; doubles per attempt (with jitter), capped at 5 minutes. */
  INBOX_RETRY_BASE_MS: int(2000, 10, 600_000),
  /** Consecutive LLM failures that open the circuit breaker, and how long it stays open. */
  ASSISTANT_BREAKER_FAILURES: int(5, 1, 1000),
  ASSISTANT_BREAKER_OPEN_MS: int(30_000, 100, 3_600_000),
  /** Sandbox only: answer with the fake OpenAI-compatible API over HTTP instead of the offline assistant. */
  WADI_SANDBOX_LLM: bool(false),
  /** Outbound sends in flight per process, attempts before `retries_exhausted`, first retry delay. */
  /** Sends in flight per process; 0 runs no dispatcher here (dedicated sender processes). */
  OUTBOX_CONCURRENCY: int(16, 0, 256),
  OUTBOX_MAX_ATTEMPTS: int(8, 1, 100),
  OUTBOX_RETRY_BASE_MS: int(1000, 10, 600_000),

  // Humans in the loop (src/conversation, src/admin): handoff, opt-out, templates, retention.
  /** Words that ask for a person, comma-separated (whole words, any case or accent); empty: only /human. */
  HANDOFF_KEYWORDS: keywords(DEFAULT_HANDOFF_KEYWORDS),
  /** A paused conversation with no operator activity for this long goes back to the bot; 0: never. */
  HANDOFF_IDLE_MINUTES: int(60, 0, 10_080),
  /** Whole messages that opt a user out of proactive messages (STOP, BAJA…); empty: none. */
  OPT_OUT_KEYWORDS: keywords(DEFAULT_OPT_OUT_KEYWORDS),
  /** Whole messages that opt a user back in (START, ALTA…). */
  OPT_IN_KEYWORDS: keywords(DEFAULT_OPT_IN_KEYWORDS),
  /** Message content older than this many days is purged (counts and timings stay); 0: keep forever. */
  RETENTION_DAYS: int(0, 0, 36_500),
  /** JSON file mapping WADI's messages to approved WhatsApp templates for after the 24 h window. */
  WHATSAPP_TEMPLATES_FILE: optStr,

  // Media (src/media): voice notes, images, documents. Names fixed by CONTRACT.md.
  /** Transcribe voice notes; default on when an LLM is configured (or the sandbox LLM is used). */
  ASSISTANT_TRANSCRIPTION: z.stringbool().optional(),
  ASSISTANT_TRANSCRIPTION_MODEL: z.string().trim().min(1).default('whisper-1'),
  /** Send images to the chat model as image content parts. */
  ASSISTANT_VISION: bool(false),
  /** One download cap for every media kind, bytes; unset: the platforms' own per-kind limits. */
  MEDIA_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(100 * 1024 * 1024)
    .optional(),
  MEDIA_MAX_DOCUMENT_CHARS: int(20_000, 100, 1_000_000),
  /** Media downloads in flight per process, and the time one may take. */
  MEDIA_DOWNLOAD_CONCURRENCY: int(4, 1, 64),
  MEDIA_DOWNLOAD_TIMEOUT_MS: int(60_000, 1000, 600_000),

  // Turn scheduling (src/inbox/worker.ts, src/assistant/llm-gate.ts)
  /**
   * Chat completions in flight per process. Turns run concurrently up to this plus
   * WORKER_CONCURRENCY (which now counts the claim loops and the turns' share of the DB pool).
   */
  LLM_MAX_CONCURRENCY: int(256, 1, 4096),

  // Knowledge and tools (src/knowledge, src/assistant-tools): the operator's documents, searched
  // with PostgreSQL full-text search, and MCP servers the model may call.
  /** Folder of Markdown, text, PDF and DOCX files the assistant can search; unset = no knowledge. */
  KNOWLEDGE_DIR: optStr,
  /** When running WADIs re-sync KNOWLEDGE_DIR (cron, UTC); "off" syncs only at start and on `wadi knowledge sync`. */
  KNOWLEDGE_SYNC_SCHEDULE: z
    .string()
    .default('*/15 * * * *')
    .refine((v) => v.trim() === 'off' || validCron(v.trim()), {
      message: 'not a valid cron expression (e.g. "*/15 * * * *") or "off"',
    })
    .transform((v) => (v.trim() === 'off' ? undefined : v.trim())),
  /** Knowledge files larger than this are reported and skipped. */
  KNOWLEDGE_MAX_FILE_BYTES: int(20_000_000, 1),
  /** JSON file listing MCP servers ({"mcpServers": {...}}); unset = no operator tools. */
  ASSISTANT_TOOLS_FILE: optStr,
  /** Default time one tool call may take before the model is told it timed out. */
  ASSISTANT_TOOL_TIMEOUT_MS: int(15_000, 100, 600_000),
  /** Most tool calls in one turn; then the model must answer with what it has. */
  ASSISTANT_TOOL_MAX_STEPS: int(6, 1, 50),
  /**
   * Offer the model the built-in `handoff` tool (hand the conversation to a person). Unset: offered
   * whenever other tools are (KNOWLEDGE_DIR or ASSISTANT_TOOLS_FILE); true: also without them;
   * false: never.
   */
  ASSISTANT_HANDOFF_TOOL: z.stringbool().optional(),

  // Replies and silent failures (issue 18: src/render, src/conversation)
  /** Cap on one reply's tokens (`max_tokens`), so a runaway answer is not ten messages; 0 = no cap. */
  ASSISTANT_MAX_OUTPUT_TOKENS: int(800, 0, 100_000),
  /** WhatsApp's typing indicator fades after ~25 s: re-send it this often while a turn runs. */
  WHATSAPP_TYPING_REFRESH_MS: int(20_000, 100, 24_000),
  /** Longest a turn keeps a typing indicator up (both channels). */
  TYPING_MAX_MS: int(120_000, 1000, 3_600_000),
  /** At most one "your message could not be answered" notice per conversation in this many minutes. */
  DEAD_LETTER_NOTICE_MINUTES: int(60, 0, 10_080),
});

function validCron(pattern: string): boolean {
  try {
    new Cron(pattern, { paused: true, timezone: 'UTC' }).stop();
    return true;
  } catch {
    return false;
  }
}

/** The environment as parsed, before derived settings are computed. */
export type Env = z.infer<typeof envSchema>;

/** Names of variables whose values are secrets: never printed, logged or returned. */
export const SECRET_VARS = [
  'ADMIN_API_KEY',
  'WHATSAPP_APP_SECRET',
  'WHATSAPP_VERIFY_TOKEN',
  'WHATSAPP_ACCESS_TOKEN',
  'TELEGRAM_BOT_TOKEN',
  'TELEGRAM_WEBHOOK_SECRET',
  'OPENAI_API_KEY',
  'ALERT_TELEGRAM_BOT_TOKEN',
  'ALERT_SLACK_WEBHOOK_URL',
  'METRICS_TOKEN',
] as const satisfies readonly (keyof Env)[];
