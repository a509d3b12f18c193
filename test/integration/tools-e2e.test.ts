/**
 * Knowledge and MCP tools through a whole WADI: signed WhatsApp webhooks in, the sandbox's fake
 * model scripting tool calls (src/sandbox/README.md), a stdio MCP server started by WADI and a
 * streamable-HTTP one run by the test, replies read from the sandbox's fake Graph API.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SandboxState } from '../../src/sandbox/state.ts';
import { tempDir } from '../helpers/cli.ts';
import { postWhatsapp } from '../helpers/cluster.ts';
import { type TestDb, testDatabase } from '../helpers/db.ts';
import { writeSampleKnowledge } from '../helpers/documents.ts';
import {
  MCP_STDIO_COMMAND,
  type McpHttpTestServer,
  readInvocations,
  startMcpHttpServer,
} from '../helpers/mcp-server.ts';
import { startTestWadi, TEST_ADMIN_KEY, type TestWadi } from '../helpers/wadi.ts';

const CRM_TOKEN = 'crm-secret-token-0123456789';
let t: TestDb;
let w: TestWadi;
let http: McpHttpTestServer;
let stdioLog: string;

async function until<T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, ms = 30_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const sandbox = () => w.wadi.wiring.sandboxState as SandboxState;
let n = 0;
/** Sends `text` as a new WhatsApp user; resolves with that user's single reply. */
async function ask(text: string): Promise<{ from: string; reply: string }> {
  const from = `3461${String(++n).padStart(7, '0')}${Math.floor(Math.random() * 10)}`;
  expect(await postWhatsapp(w.url, { from, id: `wamid.tools.${Date.now()}.${n}`, text })).toBe(200);
  const reply = await until(`the reply to ${text}`, () => {
    const sends = sandbox()
      .calls('whatsapp')
      .filter((c) => c.kind === 'send_text' && (c.body as { to?: string }).to === from);
    return sends.length > 0 && String((sends[0].body as { text?: { body?: string } }).text?.body);
  });
  return { from, reply };
}
const admin = (p: string) =>
  fetch(`${w.url}${p}`, { headers: { 'x-admin-key': TEST_ADMIN_KEY } }).then(async (r) => ({
    status: r.status,
    body: (await r.json()) as Record<string, unknown>,
  }));

beforeAll(async () => {
  t = await testDatabase();
  const dir = tempDir('wadi-tools-e2e-');
  const knowledge = path.join(dir, 'faq');
  (await import('node:fs')).mkdirSync(knowledge);
  await writeSampleKnowledge(knowledge);
  http = await startMcpHttpServer({ requireHeader: ['authorization', `Bearer ${CRM_TOKEN}`] });
  stdioLog = path.join(dir, 'stdio-calls.jsonl');
  const toolsFile = path.join(dir, 'tools.json');
  writeFileSync(
    toolsFile,
    JSON.stringify({
      mcpServers: {
        shop: { ...MCP_STDIO_COMMAND, env: { MCP_TEST_LOG: stdioLog }, allowedTools: ['get_order', 'crash'] },
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the tools file's own ${VAR} syntax, not a template
        crm: { url: http.url, headers: { authorization: 'Bearer ${CRM_TOKEN}' }, timeoutMs: 1000 },
      },
    }),
  );
  w = await startTestWadi(t.database, {
    env: {
      WADI_SANDBOX: 'true',
      WADI_SANDBOX_LLM: 'true',
      KNOWLEDGE_DIR: knowledge,
      KNOWLEDGE_SYNC_SCHEDULE: 'off',
      ASSISTANT_TOOLS_FILE: toolsFile,
      CRM_TOKEN,
      COALESCE_DEBOUNCE_MS: '50',
      WORKER_POLL_MS: '50',
      OPENAI_TIMEOUT_MS: '5000',
      OPENAI_MAX_RETRIES: '0',
      LOG_LEVEL: 'info',
    },
  });
  // The stdio server is a child of this WADI (tsx start-up takes seconds on a busy machine).
  await until(
    'the MCP servers up',
    async () => {
      const r = (await (await fetch(`${w.url}/health/ready`)).json()) as {
        checks: Record<string, { status: string }[]>;
      };
      return r.checks.tools?.[0]?.status === 'pass';
    },
    90_000,
  );
  await until(
    'the start-up sync',
    async () => ((await admin('/admin/knowledge')).body.lastSync as { trigger?: string } | null)?.trigger === 'start',
  );
}, 240_000);
afterAll(async () => {
  await w?.stop();
  await http?.close();
  await t?.drop();
});

describe('knowledge and MCP tools in a running WADI', () => {
  it('answers a question whose answer is only in a PDF, through search_knowledge', async () => {
    const { reply } = await ask('¿Abren el domingo? tool:search_knowledge {"query":"¿abren el domingo?"}');
    expect(reply).toContain('Los domingos abrimos de 10:00 a 14:00');
    expect(reply).toContain('horario.pdf');
  });

  it('calls a stdio server WADI started and an HTTP server with its configured header', async () => {
    const stdio = await ask('where is my order? tool:shop__get_order {"orderId":"A1"}');
    expect(stdio.reply).toBe('[sandbox] shop__get_order: {"orderId":"A1","status":"shipped, arriving tomorrow"}');
    expect(readInvocations(stdioLog).filter((i) => i.tool === 'get_order')).toHaveLength(1);
    const remote = await ask('tool:crm__get_order {"orderId":"A2"}');
    expect(remote.reply).toContain('being prepared');
    expect(http.headers.some((h) => h.authorization === `Bearer ${CRM_TOKEN}`)).toBe(true);
    // Tools outside the allowlist are not offered.
    expect((await ask('tool:shop__book_table {"name":"x","people":1}')).reply).toBe(
      '[sandbox] the tool shop__book_table is not available',
    );

    const metrics = await (await fetch(`${w.url}/metrics`)).text();
    expect(metrics).toMatch(/wadi_tool_calls_total\{tool="shop__get_order",outcome="ok"\} [1-9]/);
    expect(metrics).toMatch(/wadi_tool_duration_seconds_count\{tool="crm__get_order"\} [1-9]/);
  });

  it('shows tool calls in the conversation timeline with configured secrets redacted', async () => {
    const { from } = await ask(`tool:crm__get_order {"orderId":"A3","note":"token ${CRM_TOKEN}"}`);
    const sessions = await admin(`/admin/sessions?q=${from}`);
    const id = (sessions.body.items as { id: number }[])[0].id;
    const view = await admin(`/admin/sessions/${id}/messages`);
    const calls = view.body.toolCalls as { tool: string; arguments: string; result: string; outcome: string }[];
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ tool: 'crm__get_order', outcome: 'ok' });
    expect(calls[0].arguments).toContain('[redacted]');
    expect(JSON.stringify(view.body.toolCalls)).not.toContain(CRM_TOKEN);
  });

  it('errors and timeouts go back to the model; the message is answered, not dead-lettered', async () => {
    const { reply, from } = await ask('tool:crm__fail tool:crm__slow {"ms":5000}');
    expect(reply).toContain('crm__fail: the booking system is closed for maintenance');
    expect(reply).toContain('did not answer within 1 s');
    const rows = (
      await t.database.query<{ status: string }>('select status from inbox_messages where chat_id = $1', [from])
    ).rows;
    expect(rows.map((r) => r.status)).toEqual(['done']);
  });

  it('a crashed stdio server is withdrawn and restarted; readiness warns meanwhile, never fails', async () => {
    const crashed = await ask('tool:shop__crash');
    expect(crashed.reply).toContain('shop__crash: {"error":"the shop server is not available"}');
    const ready = await fetch(`${w.url}/health/ready`);
    const body = (await ready.json()) as {
      status: string;
      checks: Record<string, { status: string; output?: string }[]>;
    };
    if (body.checks.tools[0].status === 'warn') {
      expect(ready.status).toBe(200);
      expect(body.checks.tools[0].output).toContain('shop');
    }
    await until('the shop server back', async () => {
      const r = (await (await fetch(`${w.url}/health/ready`)).json()) as typeof body;
      return r.checks.tools[0].status === 'pass';
    });
    expect((await ask('tool:shop__get_order {"orderId":"A5"}')).reply).toContain('shipped');
  });

  it('an HTTP server that is down: its tools are not offered and the conversation goes on', async () => {
    const port = Number(new URL(http.url).port);
    await http.close();
    const first = await ask('tool:crm__get_order {"orderId":"A1"}');
    expect(first.reply).toMatch(
      /crm__get_order: \{"error":"the crm server is not available"\}|the tool crm__get_order is not available/,
    );
    const ready = await fetch(`${w.url}/health/ready`);
    const body = (await ready.json()) as {
      status: string;
      checks: Record<string, { status: string; output?: string }[]>;
    };
    expect(ready.status).toBe(200);
    expect(body.checks.tools[0]).toMatchObject({ status: 'warn' });
    expect(body.checks.tools[0].output).toContain('crm');
    expect((await ask('tool:crm__get_order {"orderId":"A1"}')).reply).toBe(
      '[sandbox] the tool crm__get_order is not available',
    );
    expect((await ask('tool:search_knowledge {"query":"paella"}')).reply).toContain('menu.docx');
    http = await startMcpHttpServer({ port, requireHeader: ['authorization', `Bearer ${CRM_TOKEN}`] });
  });
});
