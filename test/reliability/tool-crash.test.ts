/**
 * Exactly once across a crash in the middle of a tool call, with real processes (a web process,
 * worker processes killed with SIGKILL, a standalone sandbox) on PostgreSQL:
 * - killed after the MCP server's result was journaled, before the reply was queued: the next
 *   worker replays the recorded result: one call, one booking, one reply;
 * - killed after the MCP server booked but before its answer reached the worker (nothing
 *   journaled but "started"): the next worker calls again with the same idempotency key; the
 *   server saw two calls with one key and, honouring it, booked once; one reply;
 * - killed after the model called `handoff` (journaled), inside the turn's final transaction: the
 *   next worker replays the call without asking the model, the user is told once, on-call once.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/cli.ts';
import { Cluster, postWhatsapp } from '../helpers/cluster.ts';
import { createPostgresDatabase, postgresUrl } from '../helpers/db.ts';
import { type McpHttpTestServer, startMcpHttpServer } from '../helpers/mcp-server.ts';
import { type Receiver, telegramReceiver } from '../helpers/receivers.ts';

async function until(what: string, fn: () => Promise<boolean>, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Chat completions the standalone sandbox's fake model answered. */
async function completions(sandboxUrl: string): Promise<number> {
  const res = await fetch(`${sandboxUrl}/sandbox/outbox?channel=llm`);
  const { calls } = (await res.json()) as { calls: { kind: string }[] };
  return calls.filter((c) => c.kind === 'chat_completion').length;
}

const TIMEOUT = 300_000;

describe.runIf(postgresUrl())('tool calls across a kill -9', () => {
  let cluster: Cluster | undefined;
  let mcp: McpHttpTestServer | undefined;
  let drop: (() => Promise<void>) | undefined;
  let oncall: Receiver | undefined;
  let locker: pg.Client | undefined;
  afterEach(async () => {
    await locker?.end().catch(() => {});
    await cluster?.stop();
    await mcp?.close();
    await oncall?.close();
    await drop?.();
    cluster = undefined;
    mcp = undefined;
    oncall = undefined;
    locker = undefined;
    drop = undefined;
  });

  it(
    'kill -9 between the tool call and the reply: one call, one reply',
    async () => {
      const db = await createPostgresDatabase();
      drop = db.drop;
      mcp = await startMcpHttpServer();
      const dir = tempDir('wadi-tool-crash-');
      const toolsFile = path.join(dir, 'tools.json');
      writeFileSync(
        toolsFile,
        JSON.stringify({ mcpServers: { shop: { url: mcp.url, allowedTools: ['book_table'] } } }),
      );
      const c = new Cluster(db.url, { WADI_SANDBOX_LLM: 'true', ASSISTANT_TOOLS_FILE: toolsFile, LOG_LEVEL: 'info' });
      cluster = c;
      const sandbox = await c.startSandbox();
      const web = await c.start('web');
      const first = await c.start('worker');
      // Both model calls of the turn are slow: the second one is the window for the crash.
      await fetch(`${sandbox.url}/sandbox/faults`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ channel: 'llm', kind: 'chat_completion', delay_ms: 6000, count: 2 }),
      });

      const from = '34600111222';
      expect(
        await postWhatsapp(web.url, {
          from,
          id: `wamid.toolcrash.${Date.now()}`,
          text: 'Reserva para dos tool:shop__book_table {"name":"Ana","people":2}',
        }),
      ).toBe(200);

      // The call is journaled with its result, the model is thinking about the answer: crash now.
      const deadline = Date.now() + 60_000;
      let journaled = false;
      while (!journaled && Date.now() < deadline) {
        const rows = await c.query<{ outcome: string }>('select outcome from tool_calls');
        journaled = rows.length === 1 && rows[0].outcome === 'ok';
        if (!journaled) await new Promise((r) => setTimeout(r, 100));
      }
      expect(journaled, first.p.output().slice(-3000)).toBe(true);
      const [{ n: queued }] = await c.query<{ n: number }>('select count(*)::int as n from outbox_messages');
      expect(queued).toBe(0);
      await c.kill9(first);

      const second = await c.start('worker');
      const { pending } = await c.drained(90_000);
      expect(pending, second.p.output().slice(-3000)).toBe(0);

      const bookings = mcp.state.invocations.filter((i) => i.tool === 'book_table');
      expect(bookings).toHaveLength(1);
      expect(mcp.state.sideEffects).toBe(1);
      const replies = (await c.sandboxSends('whatsapp')).filter((s) => s.to === from);
      expect(replies).toHaveLength(1);
      expect(replies[0].body).toContain('shop__book_table: {"booked":true,"reference":"R-1"}');
      const calls = await c.query<{ step: number; outcome: string }>('select step, outcome from tool_calls');
      expect(calls).toEqual([{ step: 1, outcome: 'ok' }]);
      expect(second.p.output()).toContain('tool calls replayed from the journal');
    },
    TIMEOUT,
  );

  it(
    'kill -9 after the MCP server acted, before its answer arrived: called again with the same key, one booking, one reply',
    async () => {
      const db = await createPostgresDatabase();
      drop = db.drop;
      mcp = await startMcpHttpServer();
      let release = () => {};
      mcp.state.hold = new Promise<void>((r) => {
        release = r;
      });
      const dir = tempDir('wadi-tool-crash-');
      const toolsFile = path.join(dir, 'tools.json');
      writeFileSync(
        toolsFile,
        JSON.stringify({ mcpServers: { shop: { url: mcp.url, allowedTools: ['book_table'], timeoutMs: 60_000 } } }),
      );
      const c = new Cluster(db.url, { WADI_SANDBOX_LLM: 'true', ASSISTANT_TOOLS_FILE: toolsFile, LOG_LEVEL: 'info' });
      cluster = c;
      await c.startSandbox();
      const web = await c.start('web');
      const first = await c.start('worker');

      const from = '34600111333';
      expect(
        await postWhatsapp(web.url, {
          from,
          id: `wamid.toolcrash2.${Date.now()}`,
          text: 'Reserva para tres tool:shop__book_table {"name":"Luis","people":3}',
        }),
      ).toBe(200);

      // The server booked and holds its answer; the journal says "started", no result: crash now.
      await until('the booking', async () => mcp?.state.sideEffects === 1);
      const started = await c.query<{ inbox_id: number; outcome: string; result: string | null }>(
        'select inbox_id, outcome, result from tool_calls',
      );
      expect(started).toEqual([{ inbox_id: expect.any(Number), outcome: 'started', result: null }]);
      await c.kill9(first);
      release();
      mcp.state.hold = undefined;

      const second = await c.start('worker');
      const { pending } = await c.drained(90_000);
      expect(pending, second.p.output().slice(-3000)).toBe(0);

      // What the guarantee really is: the call was made twice, with one idempotency key, and the
      // server that honours the key acted once. A server that ignores the key would have booked twice.
      const bookings = mcp.state.invocations.filter((i) => i.tool === 'book_table');
      const key = `wadi-${started[0].inbox_id}-1`;
      expect(bookings.map((b) => [b.idempotencyKey, b.effect])).toEqual([
        [key, true],
        [key, false],
      ]);
      expect(mcp.state.sideEffects).toBe(1);
      const replies = (await c.sandboxSends('whatsapp')).filter((s) => s.to === from);
      expect(replies).toHaveLength(1);
      expect(replies[0].body).toContain('shop__book_table: {"booked":true,"reference":"R-1"}');
      const calls = await c.query<{ step: number; outcome: string }>('select step, outcome from tool_calls');
      expect(calls).toEqual([{ step: 1, outcome: 'ok' }]);
      expect(second.p.output()).toContain('calling again with the same idempotency key');
    },
    TIMEOUT,
  );

  it(
    'kill -9 inside the final transaction after the model called handoff: replayed, the user and on-call told once',
    async () => {
      const db = await createPostgresDatabase();
      drop = db.drop;
      oncall = await telegramReceiver();
      const c = new Cluster(db.url, {
        WADI_SANDBOX_LLM: 'true',
        ASSISTANT_HANDOFF_TOOL: 'true',
        ALERT_TELEGRAM_CHAT_ID: '-100999',
        ALERT_TELEGRAM_BOT_TOKEN: '123456:oncall-bot-token-for-tests',
        TELEGRAM_API_URL: oncall.url,
        LOG_LEVEL: 'info',
      });
      cluster = c;
      const sandbox = await c.startSandbox();
      const web = await c.start('web');
      const first = await c.start('worker');

      // The turn's final transaction writes the history after recording the handoff: holding the
      // history table keeps that transaction open (uncommitted) for as long as the test needs.
      locker = new pg.Client({ connectionString: db.url });
      await locker.connect();
      await locker.query('begin');
      await locker.query('lock table history in exclusive mode');

      const from = '34600111444';
      expect(
        await postWhatsapp(web.url, {
          from,
          id: `wamid.handoffcrash.${Date.now()}`,
          text: 'Quiero hablar con alguien tool:handoff {"reason":"asks for a person"}',
        }),
      ).toBe(200);
      await until('the handoff journaled', async () => {
        const rows = await c.query<{ outcome: string }>("select outcome from tool_calls where tool = 'handoff'");
        return rows.length === 1 && rows[0].outcome === 'ok';
      });
      await until('the final transaction waiting', async () => {
        const [r] = await c.query<{ n: number }>(
          "select count(*)::int as n from pg_locks where relation = 'history'::regclass and not granted",
        );
        return r.n > 0;
      });
      await c.kill9(first);
      await locker.query('rollback');
      await locker.end();
      locker = undefined;

      const second = await c.start('worker');
      const { pending } = await c.drained(90_000);
      expect(pending, second.p.output().slice(-3000)).toBe(0);

      const replies = (await c.sandboxSends('whatsapp')).filter((s) => s.to === from);
      expect(replies.map((r) => r.body)).toEqual([expect.stringMatching(/te paso con una persona/)]);
      // The model was asked once: the retried turn replayed the journaled call.
      expect(await completions(sandbox.url)).toBe(1);
      expect(second.p.output()).toContain('tool calls replayed from the journal');
      const [conv] = await c.query<{ id: number; handoff_trigger: string; paused: boolean }>(
        'select id, handoff_trigger, paused from conversations',
      );
      expect(conv).toMatchObject({ handoff_trigger: 'tool', paused: true });
      await until('on-call told', async () => (oncall?.received.length ?? 0) > 0);
      // Give a second notification every chance to arrive (the notifier polls every 2 s).
      await new Promise((r) => setTimeout(r, 5000));
      expect(oncall.received).toHaveLength(1);
      expect(oncall.received[0].text).toContain(`/admin/ui/conversations/${conv.id}`);
      expect(oncall.received[0].text).toContain("The assistant's reason: asks for a person");
    },
    TIMEOUT,
  );
});
