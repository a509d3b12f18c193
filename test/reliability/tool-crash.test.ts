/**
 * Exactly once across a crash in the middle of a tool call, with real processes: a web process, a
 * worker that is killed with SIGKILL after the MCP server booked the table and before the reply was
 * queued, and a second worker that finishes the turn from the journal. One booking, one reply.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/cli.ts';
import { Cluster, postWhatsapp } from '../helpers/cluster.ts';
import { createPostgresDatabase, postgresUrl } from '../helpers/db.ts';
import { type McpHttpTestServer, startMcpHttpServer } from '../helpers/mcp-server.ts';

const TIMEOUT = 300_000;

describe.runIf(postgresUrl())('tool calls across a kill -9', () => {
  let cluster: Cluster | undefined;
  let mcp: McpHttpTestServer | undefined;
  let drop: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await cluster?.stop();
    await mcp?.close();
    await drop?.();
    cluster = undefined;
    mcp = undefined;
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
});
