import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import {
  MCP_STDIO_COMMAND,
  type McpHttpTestServer,
  readInvocations,
  startMcpHttpServer,
} from '../../test/helpers/mcp-server.ts';
import type { McpServerConfig } from '../config/tools-file.ts';
import { McpConnection } from './mcp-connection.ts';
import { Toolbox } from './toolbox.ts';

const logger = pino({ level: 'silent' });
const open: { stop(): Promise<void> }[] = [];
afterEach(async () => {
  for (const c of open.splice(0)) await c.stop();
});

function connect(server: McpServerConfig, extra: Partial<ConstructorParameters<typeof McpConnection>[0]> = {}) {
  const c = new McpConnection({
    server,
    logger,
    callTimeoutMs: 5000,
    version: 'test',
    minBackoffMs: 100,
    maxBackoffMs: 400,
    ...extra,
  });
  open.push(c);
  return c;
}

async function until(cond: () => boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** This process's children (pid and command line). */
function childLines(): string[] {
  const out = spawnSync('ps', ['-o', 'pid=,args=', '--ppid', String(process.pid)], { encoding: 'utf8' }).stdout;
  return out.split('\n').filter((l) => l.trim());
}
const pidOf = (line: string) => Number(line.trim().split(/\s+/)[0]);
/** Pids of this process's children running the MCP test server. */
const mcpChildren = () =>
  childLines()
    .filter((l) => l.includes('mcp-server'))
    .map(pidOf);
/** Pids of all this process's children, zombies included. */
const children = () => childLines().map(pidOf);

const key = (n: number) => ({ idempotencyKey: `wadi-7-${n}` });

describe('MCP tools over both transports', () => {
  let http: McpHttpTestServer | undefined;
  afterEach(async () => {
    await http?.close();
    http = undefined;
  });

  it('stdio: tools are namespaced, filtered by the allowlist, called with the idempotency key', async () => {
    const log = path.join(mkdtempSync(path.join(tmpdir(), 'wadi-mcp-')), 'calls.jsonl');
    const c = connect({
      transport: 'stdio',
      name: 'shop',
      ...MCP_STDIO_COMMAND,
      env: { MCP_TEST_LOG: log },
      allowedTools: ['get_order', 'book_table'],
    });
    await c.start();
    expect(c.state).toBe('up');
    expect(
      c
        .offered()
        .map((t) => t.definition.name)
        .sort(),
    ).toEqual(['shop__book_table', 'shop__get_order']);
    const schema = c.offered().find((t) => t.definition.name === 'shop__get_order')?.definition.parameters;
    expect(schema).toMatchObject({ type: 'object', properties: { orderId: { type: 'string' } } });

    const order = c.offered().find((t) => t.definition.name === 'shop__get_order');
    const r = await order?.call({ orderId: 'A1' }, key(1));
    expect(r).toEqual({
      outcome: 'ok',
      content: JSON.stringify({ orderId: 'A1', status: 'shipped, arriving tomorrow' }),
    });
    const missing = await order?.call({ orderId: 'Z9' }, key(2));
    expect(missing?.outcome).toBe('error');
    expect(missing?.content).toContain('not found');
    const book = c.offered().find((t) => t.definition.name === 'shop__book_table');
    await book?.call({ name: 'Ana', people: 2 }, key(3));
    await book?.call({ name: 'Ana', people: 2 }, key(3));
    const calls = readInvocations(log);
    expect(calls.map((i) => i.idempotencyKey)).toEqual(['wadi-7-1', 'wadi-7-2', 'wadi-7-3', 'wadi-7-3']);
    expect(calls.filter((i) => i.effect)).toHaveLength(1);
  });

  it('stdio: the child gets only a safe base environment plus its own env, not WADI secrets', async () => {
    process.env.WADI_TEST_SECRET_IN_PARENT = 'parent-secret-value';
    const out = path.join(mkdtempSync(path.join(tmpdir(), 'wadi-env-')), 'env.json');
    try {
      const c = connect(
        {
          transport: 'stdio',
          name: 'envcheck',
          command: process.execPath,
          args: [
            '-e',
            "require('node:fs').writeFileSync(process.env.OUT, JSON.stringify(process.env)); setTimeout(() => {}, 100000)",
          ],
          env: { OUT: out, GIVEN: 'yes' },
        },
        { connectTimeoutMs: 1500 },
      );
      await c.start();
      // Not an MCP server: it never answers initialize, so it is down; what it wrote shows its environment.
      expect(c.state).toBe('down');
      const env = JSON.parse(readFileSync(out, 'utf8')) as Record<string, string>;
      expect(env.GIVEN).toBe('yes');
      expect(env.PATH).toBeTruthy();
      expect(env.WADI_TEST_SECRET_IN_PARENT).toBeUndefined();
      expect(Object.values(env)).not.toContain('parent-secret-value');
    } finally {
      delete process.env.WADI_TEST_SECRET_IN_PARENT;
    }
  });

  it('streamable HTTP: headers are sent, tools work, timeouts and errors come back as results', async () => {
    http = await startMcpHttpServer({ requireHeader: ['authorization', 'Bearer t0ken-for-test'] });
    const c = connect({
      transport: 'http',
      name: 'crm',
      url: http.url,
      headers: { authorization: 'Bearer t0ken-for-test' },
      timeoutMs: 500,
    });
    await c.start();
    expect(c.state).toBe('up');
    const tool = (n: string) => c.offered().find((t) => t.definition.name === `crm__${n}`);
    expect((await tool('get_order')?.call({ orderId: 'A2' }, key(1)))?.content).toContain('being prepared');
    expect(await tool('slow')?.call({ ms: 2000 }, key(2))).toMatchObject({ outcome: 'timeout' });
    expect(await tool('fail')?.call({}, key(3))).toEqual({
      outcome: 'error',
      content: 'the booking system is closed for maintenance',
    });
    await tool('book_table')?.call({ name: 'Luis', people: 4 }, key(4));
    expect(http.state.invocations.find((i) => i.tool === 'book_table')?.idempotencyKey).toBe('wadi-7-4');
    expect(c.state).toBe('up');
  });

  it('a server that is down is withdrawn, readiness warns, and it comes back by itself', async () => {
    http = await startMcpHttpServer();
    const port = new URL(http.url).port;
    const c = connect({ transport: 'http', name: 'crm', url: http.url, headers: {} });
    const box = new Toolbox({ builtins: [], connections: [c], logger });
    await box.start();
    expect(box.definitions().length).toBeGreaterThan(0);
    expect((await box.healthCheck().run()).status).toBe('pass');

    await http.close();
    const r = await box.call('crm__get_order', { orderId: 'A1' }, key(1));
    expect(r.outcome).toBe('unavailable');
    expect(box.definitions()).toEqual([]);
    const health = await box.healthCheck().run();
    expect(health.status).toBe('warn');
    expect(health.output).toContain('crm');
    expect((await box.call('crm__get_order', { orderId: 'A1' }, key(2))).outcome).toBe('unavailable');
    expect((await box.call('nope__x', {}, key(3))).content).toContain('no tool named');

    http = await startMcpHttpServer({ port: Number(port) });
    await until(() => c.state === 'up');
    expect((await box.call('crm__get_order', { orderId: 'A1' }, key(4))).outcome).toBe('ok');
  });

  it('stdio: stopping the toolbox (SIGTERM path) ends the child process within the grace', async () => {
    const c = connect({ transport: 'stdio', name: 'shop', ...MCP_STDIO_COMMAND, env: {} });
    const box = new Toolbox({ builtins: [], connections: [c], logger });
    await box.start();
    const before = new Set(mcpChildren());
    expect(before.size).toBeGreaterThan(0);
    await box.stop(5000);
    expect(c.state).toBe('stopped');
    // Gone, not even left as an unreaped zombie of this process.
    await until(() => children().every((pid) => !before.has(pid)));
  });

  it('stdio: a crashed server is restarted with backoff', async () => {
    const c = connect({ transport: 'stdio', name: 'shop', ...MCP_STDIO_COMMAND, env: {} });
    await c.start();
    const crash = c.offered().find((t) => t.definition.name === 'shop__crash');
    const r = await crash?.call({}, key(1));
    expect(r?.outcome).toBe('unavailable');
    await until(() => c.state === 'up');
    const order = c.offered().find((t) => t.definition.name === 'shop__get_order');
    expect((await order?.call({ orderId: 'A3' }, key(2)))?.outcome).toBe('ok');
  });
});
