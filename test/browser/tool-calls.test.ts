/**
 * The conversation timeline's tool-call view in a real browser (Debian's Chromium via
 * playwright-core) against a whole sandbox WADI on PostgreSQL: a turn in which the fake model
 * called `search_knowledge` (the operator's documents) and an MCP tool over streamable HTTP shows
 * both calls after the user's message, each with its tool name, outcome, duration, arguments and
 * result, and a configured secret (a value the tools file references) that was in the arguments
 * is nowhere in the page. The user's text carries the secret only \u-escaped inside the scripted
 * JSON arguments, so the raw value reaches the journal but never the message shown above it.
 * Screenshots go to test-results/tool-calls/.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumPath, launchBrowser, screenshot, type TestBrowser } from '../helpers/browser.ts';
import { tempDir } from '../helpers/cli.ts';
import { type TestDb, testDatabase } from '../helpers/db.ts';
import { writeSampleKnowledge } from '../helpers/documents.ts';
import { type McpHttpTestServer, startMcpHttpServer } from '../helpers/mcp-server.ts';
import { sandboxChat } from '../helpers/sandbox-chat.ts';
import { startTestWadi, TEST_ADMIN_KEY, type TestWadi } from '../helpers/wadi.ts';

const chromium = chromiumPath();
const SHOTS = 'tool-calls';
const WAIT = { timeout: 30_000, polling: 200 };
const CRM_TOKEN = 'crm-browser-secret-9a8b7c6d5e4f';
/** The secret as JSON \u escapes: the same string once parsed, another one as text. */
const escaped = [...CRM_TOKEN].map((ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`).join('');

let t: TestDb;
let w: TestWadi;
let mcp: McpHttpTestServer;
let browser: TestBrowser;
let page: Page;
const chat = sandboxChat(() => w.url);

async function until<T>(what: string, fn: () => Promise<T | undefined | false>, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.runIf(chromium)('tool calls in the conversation timeline, in Chromium', () => {
  beforeAll(async () => {
    t = await testDatabase();
    const dir = tempDir('wadi-tool-view-');
    const knowledge = path.join(dir, 'faq');
    mkdirSync(knowledge);
    await writeSampleKnowledge(knowledge);
    mcp = await startMcpHttpServer({ requireHeader: ['authorization', `Bearer ${CRM_TOKEN}`] });
    const toolsFile = path.join(dir, 'tools.json');
    const ref = (name: string) => `\${${name}}`;
    writeFileSync(
      toolsFile,
      JSON.stringify({
        mcpServers: {
          crm: { url: mcp.url, headers: { authorization: `Bearer ${ref('CRM_TOKEN')}` }, allowedTools: ['get_order'] },
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
        COALESCE_DEBOUNCE_MS: '0',
        WORKER_POLL_MS: '50',
      },
    });
    await until('the MCP server up and the documents synced', async () => {
      const ready = (await (await fetch(`${w.url}/health/ready`)).json()) as {
        checks: Record<string, { status: string }[]>;
      };
      const k = await chat.admin<{ lastSync: { trigger?: string } | null }>('GET', '/knowledge');
      return ready.checks.tools?.[0]?.status === 'pass' && k.json.lastSync?.trigger === 'start';
    });
    browser = await launchBrowser(chromium!);
    page = await browser.newPage();
    await page.goto(`${w.url}/admin`);
    await page.fill('[data-testid=key-input]', TEST_ADMIN_KEY);
    await page.click('[data-testid=login]');
    await page.waitForSelector('nav');
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    await w?.stop();
    await mcp?.close();
    await t?.drop();
  });

  it('shows both calls with name, outcome, duration, arguments and result, the secret redacted', async () => {
    const user = '34644000001';
    await chat.userSays(
      user,
      `¿Abren el domingo? ¿Y mi pedido? tool:search_knowledge {"query":"domingo","ref":"${escaped}"} tool:crm__get_order {"orderId":"A1","customer":"${escaped}"}`,
    );
    await chat.untilCall((c) => c.body?.to === user && c.kind === 'send_text', 'the answer', 30_000);
    const id = await chat.conversationId(user);
    // The raw secret really is in the journal: the view has something to redact.
    const journal = await t.database.query<{ tool: string; outcome: string; arguments: Record<string, string> }>(
      'select tool, outcome, arguments from tool_calls where conversation_id = $1 order by step',
      [id],
    );
    expect(journal.rows.map((r) => [r.tool, r.outcome])).toEqual([
      ['search_knowledge', 'ok'],
      ['crm__get_order', 'ok'],
    ]);
    expect(journal.rows[0].arguments.ref).toBe(CRM_TOKEN);
    expect(journal.rows[1].arguments.customer).toBe(CRM_TOKEN);
    expect(mcp.state.invocations.map((i) => i.tool)).toEqual(['get_order']);

    await page.goto(`${w.url}/admin/ui/conversations/${id}`);
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=msg-tool]').length === 2, undefined, WAIT);
    const items = page.locator('[data-testid=msg-tool]');
    for (const [i, tool] of ['search_knowledge', 'crm__get_order'].entries()) {
      const item = items.nth(i);
      await item.locator('summary').click();
      const text = ((await item.textContent()) ?? '').replace(/\s+/g, ' ');
      expect(text).toContain(tool);
      const meta = (await item.locator('.msg-meta').textContent()) ?? '';
      expect(meta).toMatch(/step \d · ok · \d+(\.\d)? (ms|s)$/);
      expect(text).toContain('[redacted]');
    }
    const [search, order] = [(await items.nth(0).textContent()) ?? '', (await items.nth(1).textContent()) ?? ''];
    expect(search).toContain('"query":"domingo"');
    expect(search).toContain('horario.pdf');
    expect(order).toContain('"orderId":"A1"');
    expect(order).toContain('shipped, arriving tomorrow');
    // The calls sit right after the user's message whose turn made them, before the reply.
    const sequence = await page.evaluate(() =>
      [...document.querySelectorAll('.msg')].map((e) =>
        e.classList.contains('msg-tool') ? 'tool' : e.classList.contains('msg-in') ? 'in' : 'out',
      ),
    );
    expect(sequence).toEqual(['in', 'tool', 'tool', 'out']);
    await screenshot(page, SHOTS, 'timeline-tool-calls');

    const html = await page.content();
    const bodyText = await page.evaluate(() => document.body.textContent ?? '');
    expect(html).not.toContain(CRM_TOKEN);
    expect(bodyText).not.toContain(CRM_TOKEN);
  }, 120_000);
});
