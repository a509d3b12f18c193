/**
 * Turns the raw environment into WADI's typed, frozen configuration, and lists every problem that
 * stops it from starting. Production fails closed: see `productionProblems`.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { type Env, envSchema, SECRET_VARS } from './schema.ts';
import { loadTemplatesFile, type TemplateBook } from './templates.ts';
import { loadToolsFile, type ToolsFile, ToolsFileError } from './tools-file.ts';
import { trustsAProxy } from './trust-proxy.ts';

/** Fixed credentials used by the built-in fakes; only ever valid in sandbox mode. */
export const SANDBOX_CREDENTIALS = {
  whatsappAppSecret: 'sandbox-whatsapp-app-secret',
  whatsappVerifyToken: 'sandbox-verify-token',
  whatsappAccessToken: 'sandbox-whatsapp-access-token',
  whatsappPhoneNumberId: '100000000000001',
  telegramBotToken: '100000001:sandbox-telegram-bot-token',
  telegramWebhookSecret: 'sandbox-telegram-webhook-secret',
} as const;

/** WADI's configuration: read-only after start. */
export interface Config {
  readonly env: Env;
  readonly production: boolean;
  readonly sandbox: boolean;
  readonly logFormat: 'json' | 'pretty';
  readonly database: { readonly url?: string; readonly dataDir: string; readonly embedded: boolean };
  readonly admin: { readonly keys: readonly string[]; readonly generatedKey: boolean };
  readonly whatsapp?: {
    readonly appSecret: string;
    readonly verifyToken: string;
    readonly accessToken: string;
    readonly phoneNumberId: string;
    /** Upstream base; undefined in sandbox mode, where the in-process fake is used. */
    readonly graphUrl?: string;
    readonly graphVersion: string;
  };
  readonly telegram?: {
    readonly botToken: string;
    readonly webhookSecret?: string;
    readonly mode: 'webhook' | 'polling';
    /** Upstream base; undefined in sandbox mode, where the in-process fake is used. */
    readonly apiUrl?: string;
    readonly groupReply: 'mention' | 'always' | 'never';
  };
  readonly llm:
    | { readonly kind: 'openai'; readonly apiKey: string; readonly baseUrl?: string; readonly model: string }
    | { readonly kind: 'offline' };
  readonly systemPrompt?: string;
  /** WHATSAPP_TEMPLATES_FILE, parsed (see config/templates.ts); undefined when not configured. */
  readonly templates?: TemplateBook;
  /** MCP servers from ASSISTANT_TOOLS_FILE (undefined when unset). */
  readonly tools?: ToolsFile;
  /** Every secret value in force, for log scrubbing. */
  readonly secrets: readonly string[];
}

/** A problem that stops WADI from starting, phrased as one line an operator can act on. */
export interface ConfigProblem {
  readonly variable: string;
  readonly message: string;
}

/** Raised by `loadConfig` when the environment cannot run WADI. */
export class ConfigError extends Error {
  readonly problems: readonly ConfigProblem[];
  constructor(problems: readonly ConfigProblem[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p.variable}: ${p.message}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** Options that make config loading testable without touching the real process. */
export interface LoadOptions {
  readonly cwd?: string;
  /** Persist a generated development admin key in the data dir (default true). */
  readonly persistGeneratedKey?: boolean;
}

/**
 * Parses `source` (normally process.env) into a Config.
 * Throws ConfigError listing every problem at once, never only the first.
 */
export function loadConfig(source: Record<string, string | undefined>, opts: LoadOptions = {}): Config {
  const cwd = opts.cwd ?? process.cwd();
  const parsed = envSchema.safeParse(source);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => ({ variable: String(i.path[0] ?? '?'), message: i.message })));
  }
  const env = parsed.data;
  const production = env.NODE_ENV === 'production';
  const problems: ConfigProblem[] = [];
  const hasRealChannel = Boolean(env.WHATSAPP_ACCESS_TOKEN || env.TELEGRAM_BOT_TOKEN);
  const sandbox = env.WADI_SANDBOX ?? (!production && !hasRealChannel);

  if (production) problems.push(...productionProblems(env, cwd, sandbox));
  problems.push(...halfConfiguredProblems(env, sandbox));
  if (problems.length > 0) throw new ConfigError(problems);

  const dataDir = path.resolve(cwd, env.WADI_DATA_DIR);
  let keys = env.ADMIN_API_KEY;
  let generatedKey = false;
  if (keys.length === 0) {
    keys = [developmentAdminKey(dataDir, opts.persistGeneratedKey ?? true)];
    generatedKey = true;
  }

  const whatsapp = sandbox
    ? {
        appSecret: env.WHATSAPP_APP_SECRET ?? SANDBOX_CREDENTIALS.whatsappAppSecret,
        verifyToken: env.WHATSAPP_VERIFY_TOKEN ?? SANDBOX_CREDENTIALS.whatsappVerifyToken,
        accessToken: env.WHATSAPP_ACCESS_TOKEN ?? SANDBOX_CREDENTIALS.whatsappAccessToken,
        phoneNumberId: env.WHATSAPP_PHONE_NUMBER_ID ?? SANDBOX_CREDENTIALS.whatsappPhoneNumberId,
        graphUrl: undefined,
        graphVersion: env.WHATSAPP_GRAPH_VERSION,
      }
    : env.WHATSAPP_ACCESS_TOKEN && env.WHATSAPP_APP_SECRET && env.WHATSAPP_VERIFY_TOKEN && env.WHATSAPP_PHONE_NUMBER_ID
      ? {
          appSecret: env.WHATSAPP_APP_SECRET,
          verifyToken: env.WHATSAPP_VERIFY_TOKEN,
          accessToken: env.WHATSAPP_ACCESS_TOKEN,
          phoneNumberId: env.WHATSAPP_PHONE_NUMBER_ID,
          graphUrl: env.WHATSAPP_GRAPH_URL,
          graphVersion: env.WHATSAPP_GRAPH_VERSION,
        }
      : undefined;

  const telegramToken = env.TELEGRAM_BOT_TOKEN ?? (sandbox ? SANDBOX_CREDENTIALS.telegramBotToken : undefined);
  const telegram = telegramToken
    ? {
        botToken: telegramToken,
        webhookSecret: env.TELEGRAM_WEBHOOK_SECRET ?? (sandbox ? SANDBOX_CREDENTIALS.telegramWebhookSecret : undefined),
        mode: env.TELEGRAM_MODE ?? (production ? ('webhook' as const) : ('polling' as const)),
        apiUrl: sandbox ? undefined : env.TELEGRAM_API_URL,
        groupReply: env.TELEGRAM_GROUP_REPLY,
      }
    : undefined;

  const llm =
    env.OPENAI_API_KEY || env.OPENAI_BASE_URL
      ? {
          kind: 'openai' as const,
          // Local OpenAI-compatible servers (Ollama, vLLM) accept any key; the SDK insists on one.
          apiKey: env.OPENAI_API_KEY ?? 'no-key',
          baseUrl: env.OPENAI_BASE_URL,
          model: env.OPENAI_MODEL,
        }
      : { kind: 'offline' as const };

  let systemPrompt = env.ASSISTANT_SYSTEM_PROMPT;
  if (!systemPrompt && env.ASSISTANT_SYSTEM_PROMPT_FILE) {
    const file = path.resolve(cwd, env.ASSISTANT_SYSTEM_PROMPT_FILE);
    try {
      systemPrompt = readFileSync(file, 'utf8').trim();
    } catch (err) {
      throw new ConfigError([
        { variable: 'ASSISTANT_SYSTEM_PROMPT_FILE', message: `cannot read ${file}: ${(err as Error).message}` },
      ]);
    }
  }

  let templates: TemplateBook | undefined;
  if (env.WHATSAPP_TEMPLATES_FILE) {
    try {
      templates = loadTemplatesFile(path.resolve(cwd, env.WHATSAPP_TEMPLATES_FILE));
    } catch (err) {
      throw new ConfigError([{ variable: 'WHATSAPP_TEMPLATES_FILE', message: (err as Error).message }]);
    }
  }

  let tools: ToolsFile | undefined;
  if (env.ASSISTANT_TOOLS_FILE) {
    try {
      tools = loadToolsFile(env.ASSISTANT_TOOLS_FILE, source, cwd);
    } catch (err) {
      if (err instanceof ToolsFileError)
        throw new ConfigError([{ variable: 'ASSISTANT_TOOLS_FILE', message: err.message }]);
      throw err;
    }
  }

  const secrets = new Set<string>(keys);
  for (const s of tools?.secrets ?? []) secrets.add(s);
  for (const name of SECRET_VARS) {
    const v = env[name];
    for (const s of Array.isArray(v) ? v : v ? [v] : []) secrets.add(s);
  }
  for (const url of [env.DATABASE_URL, env.REDIS_URL]) {
    const pw = url ? urlPassword(url) : undefined;
    if (pw) secrets.add(pw);
  }
  if (whatsapp) for (const s of [whatsapp.accessToken, whatsapp.appSecret, whatsapp.verifyToken]) secrets.add(s);
  if (telegram) {
    secrets.add(telegram.botToken);
    if (telegram.webhookSecret) secrets.add(telegram.webhookSecret);
  }

  return deepFreeze({
    env,
    production,
    sandbox,
    logFormat: env.LOG_FORMAT ?? (production ? 'json' : 'pretty'),
    database: { url: env.DATABASE_URL, dataDir, embedded: !env.DATABASE_URL },
    admin: { keys, generatedKey },
    whatsapp,
    telegram,
    llm,
    systemPrompt,
    templates,
    tools,
    // Longest first, so a secret that contains another is scrubbed whole.
    secrets: [...secrets].filter((s) => s.length >= 6).sort((a, b) => b.length - a.length),
  });
}

/** The rules that make production fail closed. */
function productionProblems(env: Env, cwd: string, sandbox: boolean): ConfigProblem[] {
  const p: ConfigProblem[] = [];
  if (env.ADMIN_API_KEY.length === 0) {
    p.push({ variable: 'ADMIN_API_KEY', message: 'required in production (one or more comma-separated keys)' });
  } else if (env.ADMIN_API_KEY.some((k) => k.length < 32)) {
    p.push({ variable: 'ADMIN_API_KEY', message: 'every key must be at least 32 characters in production' });
  }
  if (env.CORS_ORIGINS.length === 0) {
    p.push({ variable: 'CORS_ORIGINS', message: 'required in production: the exact origins allowed on /admin' });
  } else if (env.CORS_ORIGINS.includes('*')) {
    p.push({ variable: 'CORS_ORIGINS', message: '"*" is not allowed in production; list exact origins' });
  } else {
    for (const o of env.CORS_ORIGINS) {
      if (!/^https?:\/\/[^/\s]+$/.test(o)) {
        p.push({ variable: 'CORS_ORIGINS', message: `"${o}" is not an exact origin like https://admin.example.com` });
      }
    }
  }
  if (sandbox) p.push({ variable: 'WADI_SANDBOX', message: 'the sandbox cannot run in production' });
  if (existsSync(path.join(cwd, '.env'))) {
    p.push({
      variable: '.env',
      message: `a .env file is present in ${cwd}; production reads only the real environment`,
    });
  }
  if (!env.DATABASE_URL) {
    p.push({ variable: 'DATABASE_URL', message: 'required in production (embedded PGlite is for development)' });
  }
  if (!env.OPENAI_API_KEY && !env.OPENAI_BASE_URL) {
    p.push({
      variable: 'OPENAI_API_KEY',
      message:
        'required in production (or OPENAI_BASE_URL for a keyless server); the offline assistant is for development',
    });
  }
  if (!env.WHATSAPP_ACCESS_TOKEN && !env.TELEGRAM_BOT_TOKEN) {
    p.push({
      variable: 'WHATSAPP_ACCESS_TOKEN',
      message: 'no channel configured: set WhatsApp or Telegram credentials',
    });
  }
  for (const name of [
    'WHATSAPP_APP_SECRET',
    'WHATSAPP_VERIFY_TOKEN',
    'TELEGRAM_WEBHOOK_SECRET',
    'METRICS_TOKEN',
  ] as const) {
    const v = env[name];
    if (v && v.length < 16) p.push({ variable: name, message: 'too short for production (at least 16 characters)' });
  }
  if (env.HSTS_MAX_AGE === 0) {
    p.push({ variable: 'HSTS_MAX_AGE', message: 'HSTS cannot be turned off in production (use 31536000)' });
  }
  if (env.SHED_MAX_EVENT_LOOP_DELAY_MS === 0 && env.SHED_MAX_HEAP_PERCENT === 0 && env.SHED_MAX_RSS_MB === 0) {
    p.push({
      variable: 'SHED_MAX_EVENT_LOOP_DELAY_MS',
      message: 'load shedding cannot be turned off entirely in production (set an event-loop or memory limit)',
    });
  }
  if (env.PUBLIC_URL && !env.PUBLIC_URL.startsWith('https://')) {
    p.push({ variable: 'PUBLIC_URL', message: 'must be an https:// URL in production' });
  }
  if (env.TELEGRAM_BOT_TOKEN && (env.TELEGRAM_MODE ?? 'webhook') === 'webhook' && !env.PUBLIC_URL) {
    p.push({ variable: 'PUBLIC_URL', message: 'required for Telegram webhook mode (or set TELEGRAM_MODE=polling)' });
  }
  p.push(...hardeningProblems(env));
  return p;
}

/** Values printed in WADI's own source: whoever reads it knows them, so production refuses them. */
const PUBLIC_VALUES = new Set<string>(Object.values(SANDBOX_CREDENTIALS));

/** Secrets an operator chooses: too little variety means they can be guessed. */
const CHOSEN_SECRETS = [
  'WHATSAPP_APP_SECRET',
  'WHATSAPP_VERIFY_TOKEN',
  'TELEGRAM_WEBHOOK_SECRET',
  'METRICS_TOKEN',
] as const satisfies readonly (keyof Env)[];

/**
 * Why `secret` is too weak to guard production, or undefined: fewer than 10 distinct characters,
 * or one short pattern repeated (`abcabcabc…`, `0123456789` twice).
 */
export function weakSecret(secret: string): string | undefined {
  if (new Set(secret).size < 10) return 'has fewer than 10 distinct characters: generate one (openssl rand -hex 32)';
  for (let period = 1; period <= secret.length / 2; period++) {
    let repeats = true;
    for (let i = period; i < secret.length && repeats; i++) repeats = secret[i] === secret[i - period];
    if (repeats) return 'is a short pattern repeated: generate one (openssl rand -hex 32)';
  }
  return undefined;
}

/** True for http:// URLs that stay on this machine (a local LLM server, a sidecar). */
function isLoopbackUrl(u: URL): boolean {
  const h = u.hostname.replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
}

/** Production refusals from the adversarial review (issue 14): guessable, public or clear-text settings. */
function hardeningProblems(env: Env): ConfigProblem[] {
  const p: ConfigProblem[] = [];
  const secretVars = [...SECRET_VARS, 'WHATSAPP_PHONE_NUMBER_ID'] as const;
  for (const name of secretVars) {
    const v = env[name];
    for (const s of Array.isArray(v) ? v : v ? [v] : []) {
      if (PUBLIC_VALUES.has(s)) {
        p.push({ variable: name, message: "is the sandbox's built-in value (public in WADI's source); set your own" });
      }
    }
  }
  for (const [i, key] of env.ADMIN_API_KEY.entries()) {
    const weak = key.length >= 32 ? weakSecret(key) : undefined;
    if (weak) {
      const which = env.ADMIN_API_KEY.length > 1 ? `key ${i + 1} ` : '';
      p.push({ variable: 'ADMIN_API_KEY', message: `${which}${weak}` });
    }
  }
  for (const name of CHOSEN_SECRETS) {
    const v = env[name];
    const weak = v && v.length >= 16 && !PUBLIC_VALUES.has(v) ? weakSecret(v) : undefined;
    if (weak) p.push({ variable: name, message: weak });
  }
  for (const name of ['WHATSAPP_GRAPH_URL', 'TELEGRAM_API_URL', 'OPENAI_BASE_URL'] as const) {
    const v = env[name];
    if (!v) continue;
    const u = new URL(v);
    if (u.protocol !== 'https:' && !isLoopbackUrl(u)) {
      p.push({
        variable: name,
        message: 'must be https:// in production (tokens would travel in clear); http:// only to loopback',
      });
    }
  }
  for (const o of env.CORS_ORIGINS) {
    if (o.startsWith('http://')) {
      p.push({
        variable: 'CORS_ORIGINS',
        message: `"${o}" is http://: the admin key would travel in clear; use https://`,
      });
    }
  }
  if (env.HSTS_MAX_AGE > 0 && env.HSTS_MAX_AGE < 86_400) {
    p.push({
      variable: 'HSTS_MAX_AGE',
      message: 'too short for production (at least 86400, one day; 31536000 advised)',
    });
  }
  if (!env.METRICS_TOKEN) {
    p.push({
      variable: 'METRICS_TOKEN',
      message: 'required in production: /metrics would be open to anyone who can reach WADI',
    });
  }
  if (env.TRUST_PROXY && /^true$/i.test(env.TRUST_PROXY.trim())) {
    p.push({
      variable: 'TRUST_PROXY',
      message:
        "true believes any X-Forwarded-For a client writes (lockout bypass, forged audit addresses); set the hop count (e.g. 1) or the proxies' CIDRs",
    });
  }
  if (trustsAProxy(env.TRUST_PROXY) && !env.PUBLIC_URL) {
    p.push({
      variable: 'PUBLIC_URL',
      message: 'required with TRUST_PROXY: https redirects go to PUBLIC_URL, never to a host a request names',
    });
  }
  return p;
}

/** A channel with some of its credentials but not all cannot work; say which are missing. */
function halfConfiguredProblems(env: Env, sandbox: boolean): ConfigProblem[] {
  const p: ConfigProblem[] = [];
  const wa = [
    'WHATSAPP_ACCESS_TOKEN',
    'WHATSAPP_APP_SECRET',
    'WHATSAPP_VERIFY_TOKEN',
    'WHATSAPP_PHONE_NUMBER_ID',
  ] as const;
  const set = wa.filter((k) => env[k]);
  if (!sandbox && set.length > 0 && set.length < wa.length) {
    for (const k of wa.filter((k) => !env[k])) {
      p.push({ variable: k, message: `WhatsApp is half-configured: ${set.join(', ')} set but ${k} missing` });
    }
  }
  if (!sandbox && env.TELEGRAM_WEBHOOK_SECRET && !env.TELEGRAM_BOT_TOKEN) {
    p.push({
      variable: 'TELEGRAM_BOT_TOKEN',
      message: 'Telegram is half-configured: TELEGRAM_WEBHOOK_SECRET set without a bot token',
    });
  }
  if (
    !sandbox &&
    env.TELEGRAM_BOT_TOKEN &&
    (env.TELEGRAM_MODE ?? (env.NODE_ENV === 'production' ? 'webhook' : 'polling')) === 'webhook' &&
    !env.TELEGRAM_WEBHOOK_SECRET
  ) {
    p.push({ variable: 'TELEGRAM_WEBHOOK_SECRET', message: 'required when TELEGRAM_MODE=webhook' });
  }
  if (env.HSTS_PRELOAD && env.HSTS_MAX_AGE < 31_536_000) {
    // The browsers' preload list rejects shorter max-ages; asking for preload with one is a mistake.
    p.push({ variable: 'HSTS_PRELOAD', message: 'preload needs HSTS_MAX_AGE of at least 31536000 (one year)' });
  }
  if (env.TELEGRAM_BOT_TOKEN && !/^\d+:[A-Za-z0-9_-]{20,}$/.test(env.TELEGRAM_BOT_TOKEN)) {
    p.push({ variable: 'TELEGRAM_BOT_TOKEN', message: 'does not look like a bot token (123456:ABC…)' });
  }
  if (
    (env.ALERT_TELEGRAM_CHAT_ID && !env.ALERT_TELEGRAM_BOT_TOKEN && !env.TELEGRAM_BOT_TOKEN) ||
    (!env.ALERT_TELEGRAM_CHAT_ID && env.ALERT_TELEGRAM_BOT_TOKEN)
  ) {
    p.push({ variable: 'ALERT_TELEGRAM_CHAT_ID', message: 'Telegram alerts need both a chat id and a bot token' });
  }
  return p;
}

/** A development admin key, generated once and kept in the data dir so it survives restarts. */
function developmentAdminKey(dataDir: string, persist: boolean): string {
  const file = path.join(dataDir, '.admin-key');
  if (persist) {
    try {
      const existing = readFileSync(file, 'utf8').trim();
      if (existing.length >= 32) return existing;
    } catch {
      // first start: generate below
    }
  }
  const key = randomBytes(24).toString('base64url');
  if (persist) {
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(file, `${key}\n`, { mode: 0o600 });
  }
  return key;
}

function urlPassword(url: string): string | undefined {
  try {
    const pw = new URL(url).password;
    return pw ? decodeURIComponent(pw) : undefined;
  } catch {
    return undefined;
  }
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}
