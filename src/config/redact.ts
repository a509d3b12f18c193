/** Presentation of the effective configuration with every secret hidden (`wadi config check`). */
import path from 'node:path';
import type { Config } from './config.ts';
import { SECRET_VARS } from './schema.ts';

const SECRET = new Set<string>(SECRET_VARS);

/** Hides the password part of a connection URL. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '[unparseable url]';
  }
}

/** The environment as WADI sees it, with secrets shown only as "set (N chars)". */
export function redactedEnv(config: Config): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(config.env)) {
    if (v === undefined || (Array.isArray(v) && v.length === 0)) continue;
    if (SECRET.has(k)) {
      const n = Array.isArray(v) ? v.length : 1;
      out[k] = Array.isArray(v) ? `[redacted: ${n} value${n === 1 ? '' : 's'}]` : '[redacted]';
    } else if ((k === 'DATABASE_URL' || k === 'REDIS_URL') && typeof v === 'string') {
      out[k] = redactUrl(v);
    } else {
      out[k] = v;
    }
  }
  return out;
}

/** A short summary of what WADI will run with. */
export function configSummary(config: Config): Record<string, unknown> {
  return {
    mode: config.production ? 'production' : config.env.NODE_ENV,
    sandbox: config.sandbox,
    database: config.database.embedded
      ? `embedded PGlite in ${config.database.dataDir}`
      : redactUrl(config.database.url ?? ''),
    redis: config.env.REDIS_URL ? redactUrl(config.env.REDIS_URL) : 'not configured (in-process limits)',
    whatsapp: config.whatsapp ? (config.sandbox ? 'sandbox' : 'configured') : 'off',
    telegram: config.telegram ? `${config.sandbox ? 'sandbox' : 'configured'}, ${config.telegram.mode}` : 'off',
    assistant: config.llm.kind === 'openai' ? `OpenAI-compatible, model ${config.llm.model}` : 'offline assistant',
    adminKey: config.admin.generatedKey ? 'generated for development' : `${config.admin.keys.length} configured`,
  };
}

/** One MCP server as `wadi config check` shows it: env and header values never shown. */
export interface ToolServerSummary {
  readonly name: string;
  readonly transport: 'stdio' | 'http';
  /** The command line (stdio) or the URL (HTTP, password and referenced secrets hidden). */
  readonly target: string;
  /** Names of the env variables (stdio) or headers (HTTP) it gets, each `NAME=[redacted]`. */
  readonly passes: readonly string[];
  /** The allowlist, or "all" (every tool the server lists). */
  readonly allowedTools: readonly string[] | 'all';
  readonly timeoutMs?: number;
}

/** The tools and knowledge WADI will offer the model (for `wadi config check`). */
export function toolsSummary(
  config: Config,
  cwd = process.cwd(),
): {
  file?: string;
  servers: ToolServerSummary[];
  knowledgeDir?: string;
  handoffTool: boolean;
} {
  const hide = (text: string) => {
    let out = text;
    for (const s of config.tools?.secrets ?? []) if (s) out = out.split(s).join('[redacted]');
    return out;
  };
  const servers = (config.tools?.servers ?? []).map(
    (s): ToolServerSummary => ({
      name: s.name,
      transport: s.transport,
      target:
        s.transport === 'stdio'
          ? [s.command, ...s.args].map((a) => (/[\s"']/.test(a) ? JSON.stringify(a) : a)).join(' ')
          : hide(redactUrl(s.url)),
      passes: Object.keys(s.transport === 'stdio' ? s.env : s.headers).map((k) => `${k}=[redacted]`),
      allowedTools: s.allowedTools ? [...s.allowedTools] : 'all',
      timeoutMs: s.timeoutMs,
    }),
  );
  const others = Boolean(config.env.KNOWLEDGE_DIR) || servers.length > 0;
  return {
    file: config.tools?.file,
    servers,
    knowledgeDir: config.env.KNOWLEDGE_DIR ? path.resolve(cwd, config.env.KNOWLEDGE_DIR) : undefined,
    handoffTool: config.env.ASSISTANT_HANDOFF_TOOL ?? others,
  };
}
