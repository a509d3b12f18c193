/**
 * Humans in the loop, in a real browser (Debian's Chromium via playwright-core) against a whole
 * WADI on PostgreSQL in sandbox mode: a WhatsApp user sends /human, on-call is told (Slack
 * receiver) with a link, the conversation shows "needs a human" in the filtered list, an operator
 * replies from the reply box and the reply reaches the fake Graph API, the bot is resumed and the
 * message that arrived meanwhile is handed to the assistant. Then, after a simulated 25 h gap, a
 * free-form reply goes out as the configured template and an operator sends one from the form.
 * Screenshots go to test-results/handoff/.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumPath, launchBrowser, screenshot, type TestBrowser } from '../helpers/browser.ts';
import { type TestDb, testDatabase } from '../helpers/db.ts';
import { type Receiver, slackReceiver } from '../helpers/receivers.ts';
import { startTestWadi, TEST_ADMIN_KEY, type TestWadi } from '../helpers/wadi.ts';

const chromium = chromiumPath();
const SHOTS = 'handoff';
const WAIT = { timeout: 20_000, polling: 200 };

let t: TestDb;
let w: TestWadi;
let slack: Receiver;
let browser: TestBrowser;
let page: Page;

interface Call {
  seq: number;
  kind: string;
  status: number;
  body: {
    to?: string;
    type?: string;
    text?: { body?: string };
    template?: { name: string; language: { code: string } };
  };
}

async function admin<T>(method: string, url: string, body?: unknown): Promise<{ status: number; json: T }> {
  const res = await fetch(`${w.url}/admin${url}`, {
    method,
    headers: { 'x-admin-key': TEST_ADMIN_KEY, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, json: (await res.json()) as T };
}

/** Sends a text as a WhatsApp user through the real webhook (the dashboard's Try it API). */
async function userSays(from: string, text: string): Promise<void> {
  const r = await admin('POST', '/sandbox/send', { channel: 'whatsapp', from, name: 'Lucía Pérez', text });
  expect(r.status).toBe(200);
}

/** Calls the fake Graph API received, oldest first. */
async function graphCalls(): Promise<Call[]> {
  const res = await fetch(`${w.url}/sandbox/outbox?channel=whatsapp`);
  return ((await res.json()) as { calls: Call[] }).calls;
}

/** Waits until the fake Graph API received a call matching `pred`. */
async function untilCall(pred: (c: Call) => boolean, what: string): Promise<Call> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const hit = (await graphCalls()).find(pred);
    if (hit) return hit;
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`the fake Graph API never received ${what}; got ${JSON.stringify(await graphCalls())}`);
}

async function conversationId(chatId: string): Promise<number> {
  const r = await admin<{ items: { id: number; chatId: string }[] }>('GET', `/sessions?q=${chatId}`);
  const s = r.json.items.find((i) => i.chatId === chatId);
  if (!s) throw new Error(`no conversation for ${chatId}`);
  return s.id;
}

const untilText = (selector: string, text: string) =>
  page.waitForFunction(
    ([sel, text]) => [...document.querySelectorAll(sel)].some((e) => e.textContent?.includes(text)),
    [selector, text] as const,
    WAIT,
  );

describe.runIf(chromium)('handoff, operator replies and templates in Chromium', () => {
  beforeAll(async () => {
    t = await testDatabase();
    slack = await slackReceiver();
    const dir = mkdtempSync(path.join(tmpdir(), 'wadi-templates-'));
    const templates = path.join(dir, 'templates.json');
    writeFileSync(
      templates,
      JSON.stringify({
        reply: { name: 'wadi_reply_ready', language: 'es', parameters: ['{{name}}'] },
        operator: { name: 'wadi_agent_followup', language: 'es', parameters: ['{{text}}'] },
      }),
    );
    w = await startTestWadi(t.database, {
      env: {
        ALERT_SLACK_WEBHOOK_URL: slack.url,
        PUBLIC_URL: 'https://wadi.example.com',
        WHATSAPP_TEMPLATES_FILE: templates,
        COALESCE_DEBOUNCE_MS: '0',
        WORKER_POLL_MS: '50',
      },
    });
    browser = await launchBrowser(chromium!);
    page = await browser.newPage();
    await page.goto(`${w.url}/admin`);
    await page.fill('[data-testid=key-input]', TEST_ADMIN_KEY);
    await page.click('[data-testid=login]');
    await page.waitForSelector('nav');
  });
  afterAll(async () => {
    await browser?.close();
    await w?.stop();
    await slack?.close();
    await t?.drop();
  });

  it('hands a /human conversation to an operator, whose reply reaches the user, and back to the bot', async () => {
    const user = '34611000001';
    await userSays(user, '/human');
    // The user is told, in Spanish (ASSISTANT_LOCALE=es), that a person will answer.
    await untilCall(
      (c) => c.body?.to === user && /te paso con una persona/.test(c.body?.text?.body ?? ''),
      'the notice',
    );
    const id = await conversationId(user);
    // On-call hears about it once, with a link to the conversation.
    await expect.poll(() => slack.received.length, { timeout: 20_000 }).toBe(1);
    expect(slack.received[0].text).toContain(`https://wadi.example.com/admin/ui/conversations/${id}`);
    expect(slack.received[0].text).toMatch(/Lucía Pérez on WhatsApp sent \/human/);
    const metrics = await (await fetch(`${w.url}/metrics`)).text();
    expect(metrics).toMatch(/wadi_handoffs_total\{channel="whatsapp",trigger="command"\} 1/);

    // While a person has it, the bot stays silent: the next message is stored unanswered.
    const textsTo = async () =>
      (await graphCalls()).filter((c) => c.kind === 'send_text' && c.body?.to === user).length;
    const before = await textsTo();
    await userSays(user, '¿Hay alguien ahí?');
    await expect
      .poll(
        async () =>
          (await admin<{ session: { unanswered: number } }>('GET', `/sessions/${id}/messages`)).json.session.unanswered,
        {
          timeout: 20_000,
        },
      )
      .toBe(1);
    expect(await textsTo()).toBe(before);

    // The list, filtered to "needs a human", shows it.
    await page.goto(`${w.url}/admin/ui/conversations?status=needs_human`);
    await untilText('[data-testid=session-row]', 'Lucía Pérez');
    expect(await page.textContent('[data-testid=session-state]')).toContain('needs human');
    await screenshot(page, SHOTS, '01-needs-human-list');

    await page.click('[data-testid=session-row]');
    await untilText('[data-testid=conversation-state]', 'needs a human');
    expect(await page.textContent('[data-testid=conversation-state]')).toContain('1 unanswered');
    // Opened at the newest message.
    const atBottom = await page.$eval(
      '[data-testid=messages]',
      (el) => el.scrollHeight - el.scrollTop - el.clientHeight < 40,
    );
    expect(atBottom).toBe(true);

    await page.fill('[data-testid=reply-text]', 'Hola Lucía, soy Marta del equipo. ¿En qué te ayudo?');
    expect(await page.textContent('[data-testid=reply-count]')).toContain('51 / 4096');
    await page.click('[data-testid=reply-send]');
    const sent = await untilCall(
      (c) => c.body?.to === user && c.body?.text?.body === 'Hola Lucía, soy Marta del equipo. ¿En qué te ayudo?',
      "the operator's reply",
    );
    expect(sent.status).toBe(200);
    await untilText('[data-testid=msg-author]', 'operator');
    await page
      .waitForFunction(
        // The sandbox reports sent → delivered → read, as Meta does: the reply reaches "read".
        () => [...document.querySelectorAll('[data-author=operator]')].some((e) => /· read/.test(e.textContent ?? '')),
        undefined,
        WAIT,
      )
      .catch(async (err) => {
        throw new Error(`${err} ${await page.textContent('[data-testid=messages]')}`);
      });
    await screenshot(page, SHOTS, '02-operator-replied');

    // The reply is audited with the key's fingerprint, without its text.
    const audit = await t.database.query<{ key_fingerprint: string; detail: Record<string, unknown> }>(
      `select key_fingerprint, detail from audit_log where action = 'session.operator_message'`,
    );
    expect(audit.rows).toHaveLength(1);
    expect(audit.rows[0].key_fingerprint).toMatch(/^[0-9a-f]{12}$/);
    expect(JSON.stringify(audit.rows[0].detail)).not.toContain('Marta');

    // Resume, then let the assistant answer what arrived meanwhile.
    await page.click('[data-testid=resume]');
    await untilText('[data-testid=conversation-state]', 'the bot answers');
    await page.click('[data-testid=answer-unanswered]');
    await untilCall(
      (c) =>
        c.body?.to === user && c.seq > sent.seq && c.kind === 'send_text' && !/Marta/.test(c.body?.text?.body ?? ''),
      "the assistant's answer to the unanswered message",
    );
    await expect
      .poll(
        async () =>
          (await admin<{ session: { unanswered: number; state: string } }>('GET', `/sessions/${id}/messages`)).json
            .session,
        {
          timeout: 20_000,
        },
      )
      .toEqual(expect.objectContaining({ unanswered: 0, state: 'active' }));
    await screenshot(page, SHOTS, '03-resumed');
  });

  it('after a 25 h gap sends the configured template instead of a free-form reply, and an operator template', async () => {
    const user = '34611000002';
    await userSays(user, 'Hola');
    await untilCall((c) => c.body?.to === user && c.kind === 'send_text', 'the first answer');
    const id = await conversationId(user);
    // 25 hours pass: WADI's record and the fake platform's both say the user last wrote then.
    const gap = new Date(Date.now() - 25 * 3600_000).toISOString();
    await t.database.query('update conversations set last_inbound_at = $2 where id = $1', [id, gap]);
    await fetch(`${w.url}/sandbox/whatsapp/customer-window`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ wa_id: user, last_message_at: gap }),
    });

    await page.goto(`${w.url}/admin/ui/conversations/${id}`);
    await page.waitForSelector('[data-testid=window-closed]');
    await page.fill('[data-testid=reply-text]', 'Ya tenemos tu pedido listo.');
    await page.click('[data-testid=reply-send]');
    const tpl = await untilCall(
      (c) => c.body?.to === user && c.kind === 'send_template' && c.body?.template?.name === 'wadi_agent_followup',
      'the operator template',
    );
    expect(tpl.status).toBe(200);
    expect(JSON.stringify(tpl.body ?? {})).toContain('Ya tenemos tu pedido listo.');
    await untilText('[data-testid=msg-author]', 'template wadi_agent_followup');
    // Nothing free-form reached the fake after the gap.
    const free = (await graphCalls()).filter((c) => c.body?.to === user && c.kind === 'send_text' && c.seq > tpl.seq);
    expect(free).toEqual([]);

    // An operator picks a template by hand.
    await page.fill('[data-testid=template-name]', 'wadi_reply_ready');
    await page.fill('[data-testid=template-language]', 'es');
    await page.fill('[data-testid=template-parameters]', 'Lucía');
    await page.click('[data-testid=template-send]');
    await untilCall(
      (c) =>
        c.body?.to === user &&
        c.kind === 'send_template' &&
        c.body?.template?.name === 'wadi_reply_ready' &&
        c.status === 200,
      'the hand-picked template',
    );
    // An unapproved one is refused by the fake like Meta would, and shown as failed.
    await page.fill('[data-testid=template-name]', 'not_approved');
    await page.click('[data-testid=template-send]');
    await untilCall((c) => c.body?.template?.name === 'not_approved' && c.status === 400, 'the refused template');
    await page.waitForFunction(
      () => [...document.querySelectorAll('[data-author=operator]')].some((e) => /failed/.test(e.textContent ?? '')),
      undefined,
      WAIT,
    );
    await screenshot(page, SHOTS, '04-templates');
  });

  it('collapses a long message and marks where the history was reset', async () => {
    const user = '34611000003';
    const long = `Os cuento todo desde el principio: ${'el pedido llegó roto, ñandú 😀 y '.repeat(25)}fin.`;
    expect(long.length).toBeGreaterThan(700);
    await userSays(user, long);
    await untilCall((c) => c.body?.to === user && c.kind === 'send_text', 'the answer to the long message');
    await userSays(user, '/reset');
    const id = await conversationId(user);
    await expect
      .poll(
        async () =>
          (await admin<{ session: { contextResetAt: string | null } }>('GET', `/sessions/${id}/messages`)).json.session
            .contextResetAt,
        { timeout: 20_000 },
      )
      .not.toBeNull();
    await userSays(user, 'hola otra vez');
    await expect
      .poll(async () => (await graphCalls()).filter((c) => c.kind === 'send_text' && c.body?.to === user).length, {
        timeout: 20_000,
      })
      .toBe(3);

    await page.goto(`${w.url}/admin/ui/conversations/${id}`);
    await page.waitForSelector('[data-testid=reset-divider]', WAIT);
    expect(await page.locator('[data-testid=reset-divider]').count()).toBe(1);
    // The long message (and the echo of it) come before the divider, the new greeting after it.
    const order = await page.$eval('[data-testid=messages]', (el) => {
      const texts = [...el.querySelectorAll('[data-testid=msg-text], [data-testid=reset-divider]')];
      return texts.map((e) => (e.getAttribute('data-testid') === 'reset-divider' ? 'DIVIDER' : (e.textContent ?? '')));
    });
    const divider = order.indexOf('DIVIDER');
    const longAt = order.findIndex((t) => t.startsWith('Os cuento todo'));
    expect(longAt).toBeGreaterThanOrEqual(0);
    expect(longAt).toBeLessThan(divider);
    expect(order.indexOf('hola otra vez')).toBeGreaterThan(divider);
    // Collapsed: the first 600 characters and an ellipsis, expandable to the whole text.
    const first = page.locator('[data-testid=msg-text]', { hasText: 'Os cuento todo' }).first();
    const shown = (await first.textContent()) ?? '';
    expect(shown.endsWith('…')).toBe(true);
    expect(shown.length).toBeLessThan(long.length);
    const expand = page.locator('[data-testid=msg-expand]').first();
    expect(await expand.textContent()).toContain(`Show all (${long.length} characters)`);
    await expand.click();
    await page.waitForFunction(
      (t) => [...document.querySelectorAll('[data-testid=msg-text]')].some((e) => e.textContent === t),
      long,
      WAIT,
    );
    await screenshot(page, SHOTS, '05-long-and-reset');
  });

  it("the Overview's attention counts link to the filtered list and to the Failures view", async () => {
    const user = '34611000004';
    await userSays(user, '/human');
    await untilCall((c) => c.body?.to === user && /te paso con una persona/.test(c.body?.text?.body ?? ''), 'notice');
    const id = await conversationId(user);
    await page.goto(`${w.url}/admin`);
    // The earlier conversations went back to the bot: this is the only one waiting for a person.
    await untilText('[data-testid=attention-need-a-human]', '1 need a human');
    await page.click('[data-testid=attention-need-a-human]');
    await page.waitForURL(/\/admin\/ui\/conversations\?status=needs_human$/, WAIT);
    await page.waitForSelector('[data-testid=session-row]', WAIT);
    await page.waitForFunction(
      () => document.querySelectorAll('[data-testid=session-row]').length === 1,
      undefined,
      WAIT,
    );
    await page.click('[data-testid=session-row]');
    await page.waitForURL(new RegExp(`/admin/ui/conversations/${id}$`), WAIT);

    await page.goto(`${w.url}/admin`);
    await page.waitForSelector('[data-testid=attention-retrying]', WAIT);
    expect(await page.getAttribute('[data-testid=attention-retrying]', 'href')).toBe('/admin/ui/failures');
    await page.click('[data-testid=attention-retrying]');
    await page.waitForURL(/\/admin\/ui\/failures$/, WAIT);
    await untilText('main', 'Retrying');
    expect((await admin('POST', `/sessions/${id}/resume`)).status).toBe(200);
  });

  it('the conversation list refreshes itself: a new conversation and a state change appear without a reload', async () => {
    await page.goto(`${w.url}/admin/ui/conversations`);
    await page.waitForSelector('[data-testid=session-row]', WAIT);
    const rows = () => page.locator('[data-testid=session-row]').count();
    const before = await rows();
    const user = '34611000005';
    await userSays(user, 'hola, soy nueva');
    await untilCall((c) => c.body?.to === user && c.kind === 'send_text', 'the answer');
    await page.waitForFunction(
      (n) => document.querySelectorAll('[data-testid=session-row]').length === n,
      before + 1,
      WAIT,
    );
    await userSays(user, '/human');
    await page.waitForFunction(
      () => /needs human/.test(document.querySelector('[data-testid=session-state]')?.textContent ?? ''),
      undefined,
      WAIT,
    );
    expect(await rows()).toBe(before + 1);
    expect((await admin('POST', `/sessions/${await conversationId(user)}/resume`)).status).toBe(200);
  });
});
