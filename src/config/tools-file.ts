/**
 * ASSISTANT_TOOLS_FILE: the Model Context Protocol servers WADI offers to the model, in the shape
 * MCP clients share (`{"mcpServers": {"<name>": {"command", "args", "env"} | {"url", "headers"}}}`)
 * plus WADI's optional `allowedTools` and `timeoutMs` per server. `${VAR}` and `${VAR:-default}` in
 * env values, header values and the URL are read from WADI's environment here, at start (config is
 * the one reader of the environment); a missing variable or a malformed file refuses the start with
 * one line naming the problem. Resolved values count as secrets (scrubbed from logs and the
 * dashboard).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

/** A server name: it prefixes its tools (`<name>__<tool>`), so no double underscore. */
const SERVER_NAME = /^[A-Za-z0-9-]+(_[A-Za-z0-9-]+)*$/;

const stringMap = z.record(z.string(), z.string());
const common = {
  /** Tools of this server the model may call; absent = every tool the server lists. */
  allowedTools: z.array(z.string().min(1)).optional(),
  /** Per-call timeout for this server (default ASSISTANT_TOOL_TIMEOUT_MS). */
  timeoutMs: z.number().int().min(100).max(600_000).optional(),
  /** Listed but not started. */
  disabled: z.boolean().optional(),
  description: z.string().optional(),
};
const stdioServer = z
  .object({
    type: z.literal('stdio').optional(),
    command: z.string().min(1, 'command is empty'),
    args: z.array(z.string()).default([]),
    env: stringMap.default({}),
    cwd: z.string().optional(),
    ...common,
  })
  .strict();
const httpServer = z
  .object({
    type: z.enum(['http', 'streamable-http', 'streamableHttp']).optional(),
    url: z.string().min(1, 'url is empty'),
    headers: stringMap.default({}),
    ...common,
  })
  .strict();
const fileSchema = z
  .object({
    mcpServers: z.record(
      z.string(),
      z.union([stdioServer, httpServer], { error: 'needs "command" (stdio) or "url" (HTTP)' }),
      { error: 'must be an object of servers by name: {"mcpServers": {"<name>": {...}}}' },
    ),
  })
  .strict();

/** A stdio server, references resolved. */
export interface StdioServerConfig {
  readonly transport: 'stdio';
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly cwd?: string;
  readonly allowedTools?: readonly string[];
  readonly timeoutMs?: number;
}

/** A streamable-HTTP server, references resolved. */
export interface HttpServerConfig {
  readonly transport: 'http';
  readonly name: string;
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly allowedTools?: readonly string[];
  readonly timeoutMs?: number;
}

/** One configured MCP server. */
export type McpServerConfig = StdioServerConfig | HttpServerConfig;

/** The parsed tools file. */
export interface ToolsFile {
  readonly file: string;
  readonly servers: readonly McpServerConfig[];
  /** Values that came from environment references: secrets. */
  readonly secrets: readonly string[];
}

/** The tools file cannot be used; `message` is the one line to print. */
export class ToolsFileError extends Error {
  readonly code = 'TOOLS_FILE_INVALID';
  constructor(message: string) {
    super(message);
    this.name = 'ToolsFileError';
  }
}

const SERVER_KEYS = new Set([...Object.keys(stdioServer.shape), ...Object.keys(httpServer.shape)]);

/**
 * For a server entry that is neither kind, the keys no kind knows (a typo such as "comand" is
 * then named, not only the missing "command").
 */
function unknownKeys(raw: unknown, at: readonly PropertyKey[]): string {
  if (at.length !== 2 || at[0] !== 'mcpServers') return '';
  const entry = (raw as { mcpServers?: Record<string, unknown> }).mcpServers?.[String(at[1])];
  if (!entry || typeof entry !== 'object' || Array.isArray(entry)) return '';
  const unknown = Object.keys(entry).filter((k) => !SERVER_KEYS.has(k));
  return unknown.length > 0
    ? `; unknown ${unknown.length === 1 ? 'key' : 'keys'} ${unknown.map((k) => JSON.stringify(k)).join(', ')}`
    : '';
}

const REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/** Reads and validates the tools file at `file` (relative to `cwd`), resolving references from `env`. */
export function loadToolsFile(file: string, env: Record<string, string | undefined>, cwd: string): ToolsFile {
  const full = path.resolve(cwd, file);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(full, 'utf8'));
  } catch (err) {
    const why = err instanceof SyntaxError ? `not valid JSON (${err.message})` : (err as Error).message;
    throw new ToolsFileError(`${full}: ${why}`);
  }
  const parsed = fileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue.path.length > 0 ? issue.path.join('.') : '(top level)';
    const more = parsed.error.issues.length > 1 ? ` (and ${parsed.error.issues.length - 1} more problems)` : '';
    throw new ToolsFileError(`${full}: ${where}: ${issue.message}${unknownKeys(raw, issue.path)}${more}`);
  }
  const secrets = new Set<string>();
  const resolve = (value: string, where: string) =>
    value.replace(REFERENCE, (_m, name: string, fallback: string | undefined) => {
      const v = env[name];
      if (v !== undefined && v !== '') {
        secrets.add(v);
        return v;
      }
      if (fallback !== undefined) return fallback;
      throw new ToolsFileError(`${full}: ${where} references \${${name}}, which is not set`);
    });
  const resolveMap = (m: Record<string, string>, where: string) =>
    Object.fromEntries(Object.entries(m).map(([k, v]) => [k, resolve(v, `${where}.${k}`)]));

  const servers: McpServerConfig[] = [];
  for (const [name, s] of Object.entries(parsed.data.mcpServers)) {
    const at = `mcpServers.${name}`;
    if (!SERVER_NAME.test(name) || name.length > 32) {
      throw new ToolsFileError(
        `${full}: ${at}: server names are up to 32 letters, digits, - and single _ (the name prefixes its tools)`,
      );
    }
    if (s.disabled) continue;
    if ('command' in s) {
      servers.push({
        transport: 'stdio',
        name,
        command: s.command,
        args: s.args,
        env: resolveMap(s.env, `${at}.env`),
        cwd: s.cwd ? path.resolve(path.dirname(full), s.cwd) : undefined,
        allowedTools: s.allowedTools,
        timeoutMs: s.timeoutMs,
      });
    } else {
      const url = resolve(s.url, `${at}.url`);
      let parsedUrl: URL;
      try {
        parsedUrl = new URL(url);
      } catch {
        throw new ToolsFileError(`${full}: ${at}.url is not a URL`);
      }
      if (parsedUrl.protocol !== 'http:' && parsedUrl.protocol !== 'https:') {
        throw new ToolsFileError(`${full}: ${at}.url must be http:// or https://`);
      }
      servers.push({
        transport: 'http',
        name,
        url,
        headers: resolveMap(s.headers, `${at}.headers`),
        allowedTools: s.allowedTools,
        timeoutMs: s.timeoutMs,
      });
    }
  }
  return { file: full, servers, secrets: [...secrets] };
}
