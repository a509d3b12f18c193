/**
 * One MCP server, kept connected: a stdio child process (started by this WADI process, with only
 * the SDK's safe default environment plus the server's own `env`, never through a shell) or a
 * streamable-HTTP endpoint. When the server dies or cannot be reached its tools are withdrawn and
 * the connection is retried with exponential backoff (1 s doubling to 30 s, with jitter); the
 * conversation goes on with the tools that are up. The only file that imports the MCP client SDK,
 * and only when a server is configured: the SDK adds ~30 MB to a process's RSS (bench/results/memory.md),
 * which a deployment without operator tools should not pay.
 */
import { createInterface } from 'node:readline';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { Logger } from 'pino';
import type { McpServerConfig } from '../config/tools-file.ts';
import { capResult, type Tool, type ToolCallContext, type ToolDefinition, type ToolResult } from './types.ts';

/** The parts of the MCP client SDK this file uses, loaded by the first connection attempt. */
interface Sdk {
  Client: typeof import('@modelcontextprotocol/sdk/client/index.js').Client;
  StdioClientTransport: typeof import('@modelcontextprotocol/sdk/client/stdio.js').StdioClientTransport;
  StreamableHTTPClientTransport: typeof import('@modelcontextprotocol/sdk/client/streamableHttp.js').StreamableHTTPClientTransport;
  ErrorCode: typeof import('@modelcontextprotocol/sdk/types.js').ErrorCode;
  McpError: typeof import('@modelcontextprotocol/sdk/types.js').McpError;
}
let sdkLoading: Promise<Sdk> | undefined;
function loadSdk(): Promise<Sdk> {
  sdkLoading ??= Promise.all([
    import('@modelcontextprotocol/sdk/client/index.js'),
    import('@modelcontextprotocol/sdk/client/stdio.js'),
    import('@modelcontextprotocol/sdk/client/streamableHttp.js'),
    import('@modelcontextprotocol/sdk/types.js'),
  ]).then(([client, stdio, http, types]) => ({
    Client: client.Client,
    StdioClientTransport: stdio.StdioClientTransport,
    StreamableHTTPClientTransport: http.StreamableHTTPClientTransport,
    ErrorCode: types.ErrorCode,
    McpError: types.McpError,
  }));
  return sdkLoading;
}

/** Where a connection stands. */
export type ConnectionState = 'connecting' | 'up' | 'down' | 'stopped';

/** Connection settings. */
export interface McpConnectionOptions {
  readonly server: McpServerConfig;
  readonly logger: Logger;
  /** Default per-call timeout (the server's `timeoutMs` wins). */
  readonly callTimeoutMs: number;
  /** Time allowed to connect and list tools (default 30 s: a stdio server may compile or download at start). */
  readonly connectTimeoutMs?: number;
  readonly version: string;
  /** Backoff bounds (tests shorten them). */
  readonly minBackoffMs?: number;
  readonly maxBackoffMs?: number;
}

const TOOL_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/** A kept-alive connection to one MCP server and the tools it offers. */
export class McpConnection {
  readonly name: string;
  private readonly opts: McpConnectionOptions;
  private readonly log: Logger;
  private client: Client | undefined;
  private transport: Transport | undefined;
  private tools: Tool[] = [];
  private readonly seen = new Set<string>();
  private _state: ConnectionState = 'down';
  private _lastError: string | undefined;
  private failures = 0;
  private timer: NodeJS.Timeout | undefined;
  private connecting: Promise<void> | undefined;
  private stopped = false;

  constructor(opts: McpConnectionOptions) {
    this.opts = opts;
    this.name = opts.server.name;
    this.log = opts.logger.child({ mcpServer: this.name });
  }

  get state(): ConnectionState {
    return this._state;
  }

  /** Why the server is down, if it is (no secrets: messages come from the SDK and the transport). */
  get lastError(): string | undefined {
    return this._lastError;
  }

  /** The allowed tools while the server is up; none while it is down. */
  offered(): readonly Tool[] {
    return this._state === 'up' ? this.tools : [];
  }

  /** True for a tool this server has offered since start (a bounded set: metric labels). */
  hasOffered(name: string): boolean {
    return this.seen.has(name);
  }

  /** Connects (resolves when up or when the first attempt failed; retries go on in the background). */
  start(): Promise<void> {
    this.stopped = false;
    return this.connect();
  }

  private connect(): Promise<void> {
    this.connecting ??= this.attempt().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async attempt(): Promise<void> {
    if (this.stopped) return;
    this._state = 'connecting';
    const server = this.opts.server;
    const { Client, StdioClientTransport, StreamableHTTPClientTransport } = await loadSdk();
    if (this.stopped) return;
    const client = new Client({ name: 'wadi', version: this.opts.version });
    let transport: Transport;
    if (server.transport === 'stdio') {
      const t = new StdioClientTransport({
        command: server.command,
        args: [...server.args],
        env: { ...server.env },
        cwd: server.cwd,
        stderr: 'pipe',
      });
      const stderr = t.stderr;
      if (stderr) {
        createInterface({ input: stderr as unknown as NodeJS.ReadableStream }).on('line', (line) =>
          this.log.info({ stderr: line.slice(0, 2000) }, 'mcp server stderr'),
        );
      }
      transport = t;
    } else {
      transport = new StreamableHTTPClientTransport(new URL(server.url), {
        requestInit: { headers: { ...server.headers } },
        // The connection's own backoff handles reconnects; the SDK's GET-stream retries would double them.
        reconnectionOptions: {
          maxRetries: 0,
          initialReconnectionDelay: 1000,
          maxReconnectionDelay: 1000,
          reconnectionDelayGrowFactor: 1,
        },
      });
    }
    this.client = client;
    this.transport = transport;
    client.onclose = () => this.lost(client, 'connection closed');
    client.onerror = (err) => this.log.debug({ err: err.message }, 'mcp transport error');
    try {
      const timeout = this.opts.connectTimeoutMs ?? 30_000;
      await client.connect(transport, { timeout });
      const listed: ToolDefinition[] = [];
      let cursor: string | undefined;
      do {
        const page = await client.listTools(cursor ? { cursor } : undefined, { timeout });
        for (const t of page.tools)
          listed.push({ name: t.name, description: t.description ?? '', parameters: t.inputSchema });
        cursor = page.nextCursor;
      } while (cursor && listed.length < 1000);
      if (this.stopped || this.client !== client) {
        await client.close().catch(() => {});
        return;
      }
      this.tools = this.select(listed).map((d) => this.tool(client, d));
      for (const t of this.tools) this.seen.add(t.definition.name);
      this._state = 'up';
      this._lastError = undefined;
      this.failures = 0;
      this.log.info({ tools: this.tools.map((t) => t.definition.name) }, 'mcp server connected');
    } catch (err) {
      this.lost(client, (err as Error).message);
    }
  }

  /** The listed tools the allowlist keeps, namespaced; unusable names are skipped with a warning. */
  private select(listed: ToolDefinition[]): ToolDefinition[] {
    const allowed = this.opts.server.allowedTools;
    const out: ToolDefinition[] = [];
    for (const d of listed) {
      if (allowed && !allowed.includes(d.name)) continue;
      const name = `${this.name}__${d.name}`;
      if (!TOOL_NAME.test(name)) {
        this.log.warn({ tool: d.name }, 'mcp tool skipped: its namespaced name is not a valid function name');
        continue;
      }
      out.push({ ...d, name, description: d.description.slice(0, 1024) });
    }
    for (const a of allowed ?? [])
      if (!listed.some((d) => d.name === a)) this.log.warn({ tool: a }, 'allowed tool not offered by the server');
    return out;
  }

  private tool(client: Client, definition: ToolDefinition): Tool {
    const remote = definition.name.slice(this.name.length + 2);
    return {
      definition,
      call: (args, ctx) => this.call(client, remote, args, ctx),
    };
  }

  private async call(
    client: Client,
    tool: string,
    args: Record<string, unknown>,
    ctx: ToolCallContext,
  ): Promise<ToolResult> {
    if (this._state !== 'up' || this.client !== client) {
      return { outcome: 'unavailable', content: JSON.stringify({ error: `the ${this.name} server is not available` }) };
    }
    const timeout = this.opts.server.timeoutMs ?? this.opts.callTimeoutMs;
    try {
      const res = await client.callTool(
        { name: tool, arguments: args, _meta: { idempotencyKey: ctx.idempotencyKey } },
        undefined,
        { timeout, signal: ctx.signal },
      );
      const content = resultText(res as CallResult);
      return { outcome: res.isError ? 'error' : 'ok', content: capResult(content) };
    } catch (err) {
      // A call only happens on a connection that is up, so the SDK is loaded.
      const { ErrorCode, McpError } = await loadSdk();
      if (err instanceof McpError && err.code === ErrorCode.RequestTimeout) {
        return {
          outcome: 'timeout',
          content: JSON.stringify({ error: `the tool did not answer within ${Math.round(timeout / 100) / 10} s` }),
        };
      }
      if (err instanceof McpError && err.code !== ErrorCode.ConnectionClosed) {
        return { outcome: 'error', content: JSON.stringify({ error: err.message.slice(0, 500) }) };
      }
      // The transport failed (server died, HTTP endpoint unreachable): withdraw the tools and reconnect.
      if (ctx.signal?.aborted) throw err;
      this.lost(client, (err as Error).message);
      return { outcome: 'unavailable', content: JSON.stringify({ error: `the ${this.name} server is not available` }) };
    }
  }

  /** The server went away: withdraw its tools, close what is left, retry later. */
  private lost(client: Client, why: string): void {
    if (this.client !== client) return;
    this.client = undefined;
    this.transport = undefined;
    this.tools = [];
    if (this.stopped) {
      this._state = 'stopped';
      return;
    }
    this._state = 'down';
    this._lastError = why.slice(0, 300);
    this.failures += 1;
    void client.close().catch(() => {});
    const min = this.opts.minBackoffMs ?? 1000;
    const max = this.opts.maxBackoffMs ?? 30_000;
    const base = Math.min(max, min * 2 ** Math.min(this.failures - 1, 16));
    const delay = Math.round(base / 2 + Math.random() * (base / 2));
    this.log.warn({ err: this._lastError, retryInMs: delay, failures: this.failures }, 'mcp server unavailable');
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.connect(), delay);
    this.timer.unref();
  }

  /** Stops retrying and closes the server (a stdio child gets stdin closed, then SIGTERM, then SIGKILL). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.connecting?.catch(() => {});
    const client = this.client;
    this.client = undefined;
    this.tools = [];
    this._state = 'stopped';
    if (client) await client.close().catch(() => {});
  }
}

interface CallResult {
  content?: { type: string; text?: string }[];
  structuredContent?: unknown;
  toolResult?: unknown;
  isError?: boolean;
}

/** The text a tool result gives the model: its text parts, else its structured content as JSON. */
function resultText(res: CallResult): string {
  const parts: string[] = [];
  for (const c of res.content ?? []) {
    if (c.type === 'text' && typeof c.text === 'string') parts.push(c.text);
    else parts.push(`[${c.type} content omitted]`);
  }
  if (parts.length > 0) return parts.join('\n');
  if (res.structuredContent !== undefined) return JSON.stringify(res.structuredContent);
  if (res.toolResult !== undefined) return JSON.stringify(res.toolResult);
  return '';
}
