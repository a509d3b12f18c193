/**
 * A small, real MCP server for tests and the README example (official SDK, stdio or streamable
 * HTTP), with a side-effect counter. Tools:
 * - `get_order {orderId}` → the order's status (orders "A1".."A9" exist; others are not found);
 * - `book_table {name, people}` → a side effect: increments the counter once per idempotency key
 *   (`_meta.idempotencyKey`), so a repeated call with the same key books nothing new (and, while
 *   `state.hold` is set, answers only once it resolves);
 * - `slow {ms}` → answers after `ms`; `fail` → a tool error (isError); `crash` → the stdio process exits.
 * Every invocation (deduplicated or not) is appended to MCP_TEST_LOG as a JSON line when set, so
 * tests can count calls across processes.
 *
 * Run as stdio: `node --import tsx test/helpers/mcp-server.ts`; in-process HTTP: `startMcpHttpServer()`.
 */
import { appendFileSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';

/** One recorded invocation. */
export interface McpInvocation {
  readonly tool: string;
  readonly args: Record<string, unknown>;
  readonly idempotencyKey?: string;
  /** True when this invocation performed the side effect (first time for its key). */
  readonly effect: boolean;
}

/** Shared state of a test server: invocations and side effects. */
export class McpTestState {
  readonly invocations: McpInvocation[] = [];
  readonly bookings = new Map<string, { name: string; people: number }>();
  /**
   * While set, `book_table` books (the side effect happens and is recorded) and then waits for this
   * before it answers: the window between a server's action and its result reaching WADI.
   */
  hold?: Promise<void>;
  private readonly logFile?: string;
  constructor(logFile?: string) {
    this.logFile = logFile;
    // A restarted stdio server remembers the bookings of its previous life (idempotency survives).
    if (logFile)
      for (const i of readInvocations(logFile))
        if (i.effect && i.idempotencyKey)
          this.bookings.set(i.idempotencyKey, { name: String(i.args.name), people: Number(i.args.people) });
  }
  /** Number of side effects (bookings) performed. */
  get sideEffects(): number {
    return this.invocations.filter((i) => i.effect).length;
  }
  record(i: McpInvocation): void {
    this.invocations.push(i);
    if (this.logFile) appendFileSync(this.logFile, `${JSON.stringify(i)}\n`);
  }
}

/** Invocations a stdio server (another process) appended to `file`. */
export function readInvocations(file: string): McpInvocation[] {
  try {
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as McpInvocation);
  } catch {
    return [];
  }
}

const ORDERS: Record<string, string> = Object.fromEntries(
  Array.from({ length: 9 }, (_, i) => [`A${i + 1}`, i % 2 === 0 ? 'shipped, arriving tomorrow' : 'being prepared']),
);

/** An MCP server whose tools act on `state`. */
export function buildMcpTestServer(state: McpTestState, opts: { onCrash?: () => void } = {}): McpServer {
  const server = new McpServer({ name: 'wadi-test-tools', version: '1.0.0' });
  const key = (extra: { _meta?: Record<string, unknown> }) =>
    typeof extra._meta?.idempotencyKey === 'string' ? extra._meta.idempotencyKey : undefined;
  server.registerTool(
    'get_order',
    { description: 'Status of an order by its id (e.g. A1)', inputSchema: { orderId: z.string() } },
    async ({ orderId }, extra) => {
      state.record({ tool: 'get_order', args: { orderId }, idempotencyKey: key(extra), effect: false });
      const status = ORDERS[orderId];
      return status
        ? { content: [{ type: 'text', text: JSON.stringify({ orderId, status }) }] }
        : { content: [{ type: 'text', text: `order ${orderId} not found` }], isError: true };
    },
  );
  server.registerTool(
    'book_table',
    {
      description: 'Books a table (a side effect: honours _meta.idempotencyKey)',
      inputSchema: { name: z.string(), people: z.number().int().min(1).max(20) },
    },
    async ({ name, people }, extra) => {
      const k = key(extra) ?? `nokey-${state.invocations.length}`;
      const effect = !state.bookings.has(k);
      if (effect) state.bookings.set(k, { name, people });
      state.record({ tool: 'book_table', args: { name, people }, idempotencyKey: key(extra), effect });
      if (state.hold) await state.hold;
      return {
        content: [{ type: 'text', text: JSON.stringify({ booked: true, reference: `R-${state.bookings.size}` }) }],
      };
    },
  );
  server.registerTool(
    'slow',
    { description: 'Answers after ms milliseconds', inputSchema: { ms: z.number().int().min(0).max(120_000) } },
    async ({ ms }, extra) => {
      state.record({ tool: 'slow', args: { ms }, idempotencyKey: key(extra), effect: false });
      await new Promise((r) => setTimeout(r, ms));
      return { content: [{ type: 'text', text: `done after ${ms} ms` }] };
    },
  );
  server.registerTool('fail', { description: 'Always fails', inputSchema: {} }, async (_args, extra) => {
    state.record({ tool: 'fail', args: {}, idempotencyKey: key(extra), effect: false });
    return { content: [{ type: 'text', text: 'the booking system is closed for maintenance' }], isError: true };
  });
  server.registerTool('crash', { description: 'The server process dies', inputSchema: {} }, async (_args, extra) => {
    state.record({ tool: 'crash', args: {}, idempotencyKey: key(extra), effect: false });
    opts.onCrash?.();
    return { content: [{ type: 'text', text: 'unreachable' }] };
  });
  return server;
}

/** A running streamable-HTTP test server. */
export interface McpHttpTestServer {
  readonly url: string;
  readonly state: McpTestState;
  /** Requests seen with their headers (to check configured headers arrive). */
  readonly headers: http.IncomingHttpHeaders[];
  close(): Promise<void>;
}

/** Starts a stateless streamable-HTTP MCP server on 127.0.0.1 (a fresh server per request). */
export async function startMcpHttpServer(
  opts: { state?: McpTestState; port?: number; requireHeader?: [string, string] } = {},
): Promise<McpHttpTestServer> {
  const state = opts.state ?? new McpTestState();
  const headers: http.IncomingHttpHeaders[] = [];
  const httpServer = http.createServer(async (req, res) => {
    headers.push(req.headers);
    if (opts.requireHeader && req.headers[opts.requireHeader[0]] !== opts.requireHeader[1]) {
      res.writeHead(401).end('unauthorized');
      return;
    }
    if (req.method !== 'POST') {
      res.writeHead(405, { allow: 'POST' }).end();
      return;
    }
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    const server = buildMcpTestServer(state);
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    res.on('close', () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
  });
  await new Promise<void>((r) => httpServer.listen(opts.port ?? 0, '127.0.0.1', r));
  const port = (httpServer.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    state,
    headers,
    close: () =>
      new Promise<void>((r) => {
        httpServer.closeAllConnections();
        httpServer.close(() => r());
      }),
  };
}

/** The command that runs this file as a stdio MCP server. */
export const MCP_STDIO_COMMAND = {
  command: process.execPath,
  args: ['--import', 'tsx', new URL(import.meta.url).pathname],
};

// Run as a stdio server when executed directly.
if (process.argv[1] && new URL(import.meta.url).pathname === process.argv[1]) {
  const state = new McpTestState(process.env.MCP_TEST_LOG);
  const server = buildMcpTestServer(state, { onCrash: () => process.exit(3) });
  await server.connect(new StdioServerTransport());
}
