/**
 * Running WADI from the dashboard, in a real browser (Debian's Chromium via playwright-core) against a
 * whole sandbox WADI on PostgreSQL: a WhatsApp user opts out with BAJA (a queued template then
 * fails as opted_out, a new one is refused) and back in with ALTA; an operator erases a user; a
 * dead letter is replayed from the Failures view and answered; the Logs page filters by text,
 * route, conversation and level and hides the sandbox's own calls; the phone layout (375×667)
 * keeps a slim header, visibly scrolling tables, unclipped chart labels, 4.5:1 contrast, page
 * titles and a favicon; and the status strip under traffic, then with the server stopped (banner,
 * greyed data, action errors) and started again (all cleared).
 * Screenshots go to test-results/operations/.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { texts } from '../../src/conversation/texts.ts';
import { chromiumPath, launchBrowser, screenshot, type TestBrowser } from '../helpers/browser.ts';
import { type TestDb, testDatabase } from '../helpers/db.ts';
import { sandboxChat } from '../helpers/sandbox-chat.ts';
import { startTestWadi, TEST_ADMIN_KEY, type TestWadi } from '../helpers/wadi.ts';

const chromium = chromiumPath();
const SHOTS = 'operations';
const WAIT = { timeout: 20_000, polling: 200 };

let t: TestDb;
let w: TestWadi;
let env: Record<string, string>;
let browser: TestBrowser;
let page: Page;
const chat = sandboxChat(() => w.url);

/** Waits until some element matching `selector` contains `text` (or, with present=false, none does). */
const untilText = (p: Page, selector: string, text: string, present = true) =>
  p.waitForFunction(
    ([sel, text, present]) =>
      [...document.querySelectorAll(sel)].some((e) => e.textContent?.includes(text)) === present,
    [selector, text, present] as const,
    WAIT,
  );

async function login(p: Page): Promise<void> {
  await p.goto(`${w.url}/admin`);
  await p.fill('[data-testid=key-input]', TEST_ADMIN_KEY);
  await p.click('[data-testid=login]');
  await p.waitForSelector('nav');
}

async function sandboxFault(fault: Record<string, unknown>): Promise<void> {
  const res = await fetch(`${w.url}/sandbox/faults`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(fault),
  });
  expect(res.status).toBe(201);
}

async function count(sql: string, params: unknown[] = []): Promise<number> {
  return Number((await t.database.query<{ n: number }>(sql, params)).rows[0].n);
}

describe.runIf(chromium)('operating WADI from the dashboard in Chromium', () => {
  beforeAll(async () => {
    t = await testDatabase();
    const dir = mkdtempSync(path.join(tmpdir(), 'wadi-templates-'));
    const templates = path.join(dir, 'templates.json');
    writeFileSync(
      templates,
      JSON.stringify({
        reply: { name: 'wadi_reply_ready', language: 'es', parameters: ['{{name}}'] },
        operator: { name: 'wadi_agent_followup', language: 'es', parameters: ['{{text}}'] },
      }),
    );
    env = {
      WHATSAPP_TEMPLATES_FILE: templates,
      COALESCE_DEBOUNCE_MS: '0',
      WORKER_POLL_MS: '50',
      INBOX_MAX_ATTEMPTS: '2',
      INBOX_RETRY_BASE_MS: '50',
      OUTBOX_RETRY_BASE_MS: '400',
      OPENAI_MAX_RETRIES: '0',
      // Every level reaches the Logs page's buffer.
      LOG_LEVEL: 'trace',
      // The fake OpenAI-compatible API answers (and can be made to fail), not the offline demo.
      WADI_SANDBOX_LLM: 'true',
    };
    w = await startTestWadi(t.database, { env });
    browser = await launchBrowser(chromium!);
    page = await browser.newPage();
    await login(page);
  });
  afterAll(async () => {
    await browser?.close();
    await w?.stop();
    await t?.drop();
  });

  it('BAJA opts a user out: a queued template fails as opted_out, a new one is refused; ALTA opts back in', async () => {
    const user = '34612000001';
    await chat.userSays(user, 'Hola');
    await chat.untilCall((c) => c.body?.to === user && c.kind === 'send_text', 'the first answer');
    const id = await chat.conversationId(user);
    await page.goto(`${w.url}/admin/ui/conversations/${id}`);
    await untilText(page, '[data-testid=conversation-state]', 'the bot answers');

    // An operator re-engages with a template while the platform is failing (it will be retried)…
    await sandboxFault({ channel: 'whatsapp', kind: 'send_template', status: 500, count: 1000 });
    await page.click('.template-form summary');
    await page.fill('[data-testid=template-name]', 'wadi_reply_ready');
    await page.fill('[data-testid=template-parameters]', 'Lucía');
    await page.click('[data-testid=template-send]');
    await chat.untilCall((c) => c.kind === 'send_template' && c.status === 500, 'the failing template');
    // …and meanwhile the user writes BAJA: confirmed in Spanish (a direct answer still goes out).
    await chat.userSays(user, 'BAJA');
    await chat.untilCall(
      (c) => c.body?.to === user && c.body?.text?.body === texts('es').optedOut('ALTA'),
      'the opt-out',
    );
    // (The operator's template paused the bot: the opt-out shows as a badge next to "paused".)
    await untilText(page, '[data-testid=conversation-state]', 'opted out');
    // The retried template is not sent: it is recorded failed, as opted_out.
    await expect
      .poll(
        async () =>
          (
            await t.database.query<{ status: string; failure_reason: string | null }>(
              `select status, failure_reason from outbox_messages where conversation_id = $1 and kind = 'template'`,
              [id],
            )
          ).rows,
        { timeout: 20_000 },
      )
      .toEqual([{ status: 'failed', failure_reason: 'opted_out' }]);
    await fetch(`${w.url}/sandbox/faults`, { method: 'DELETE' });
    await page.waitForFunction(
      () => [...document.querySelectorAll('[data-author=operator]')].some((e) => /failed/.test(e.textContent ?? '')),
      undefined,
      WAIT,
    );
    // The Failures view says why.
    await page.click('nav >> text=Failures');
    await page.waitForSelector('[data-testid=failed-table]');
    await untilText(page, '[data-testid=failed-table]', 'opted_out');
    await screenshot(page, SHOTS, '01-opted-out-failure');

    // A new template is refused in words, and the refusal is audited.
    await page.goto(`${w.url}/admin/ui/conversations/${id}`);
    await untilText(page, '[data-testid=conversation-state]', 'opted out');
    await page.click('.template-form summary');
    await page.fill('[data-testid=template-name]', 'wadi_reply_ready');
    await page.fill('[data-testid=template-parameters]', 'Lucía');
    await page.click('[data-testid=template-send]');
    await untilText(page, '[data-testid=composer-error]', 'opted out');
    expect(await count(`select count(*)::int as n from audit_log where action = 'session.template_refused'`)).toBe(1);
    const sentTemplates = async () =>
      (await chat.graphCalls()).filter((c) => c.kind === 'send_template' && c.status === 200 && c.body?.to === user);
    expect(await sentTemplates()).toEqual([]);
    await screenshot(page, SHOTS, '02-template-refused');

    // ALTA: back in, confirmed, and a template goes out again.
    await chat.userSays(user, 'ALTA');
    await chat.untilCall(
      (c) => c.body?.to === user && c.body?.text?.body === texts('es').optedIn('BAJA'),
      'the opt-in',
    );
    await untilText(page, '[data-testid=conversation-state]', 'opted out', false);
    await page.click('[data-testid=template-send]');
    await chat.untilCall(
      (c) => c.kind === 'send_template' && c.status === 200 && c.body?.to === user,
      'the template after ALTA',
    );
  });

  it('erases a user from the conversation view: gone from the list, the database and the audit log', async () => {
    const user = '34612000002';
    await chat.userSays(user, 'Quiero que borréis mis datos', 'Borja Olmo');
    await chat.untilCall((c) => c.body?.to === user && c.kind === 'send_text', 'the answer');
    const id = await chat.conversationId(user);
    await page.goto(`${w.url}/admin/ui/conversations/${id}`);
    await page.waitForSelector('[data-testid=msg-out]');
    let asked = '';
    page.once('dialog', (d) => {
      asked = d.message();
      void d.accept();
    });
    await page.click('[data-testid=erase-user]');
    await page.waitForSelector('[data-testid=erased]');
    expect(asked).toContain('Borja Olmo');
    expect(await page.textContent('[data-testid=erased]')).toMatch(/Erased: 1 message\(s\).*1 conversation\(s\)/);
    for (const table of ['inbox_messages', 'outbox_messages', 'conversations']) {
      expect(await count(`select count(*)::int as n from ${table} where chat_id = $1`, [user])).toBe(0);
    }
    const audit = await t.database.query<{ detail: unknown }>(
      `select detail from audit_log where action = 'user.erase'`,
    );
    expect(audit.rows).toHaveLength(1);
    expect(JSON.stringify(audit.rows[0].detail)).not.toContain(user);
    await page.click('text=← All conversations');
    await page.waitForSelector('[data-testid=sessions-table]');
    expect(await page.textContent('[data-testid=sessions-table]')).not.toContain('Borja Olmo');
    expect((await chat.admin('GET', `/sessions/${id}/messages`)).status).toBe(404);
    await screenshot(page, SHOTS, '03-erased');
  });

  it('the Failures view lists a dead letter and Replay gets it answered', async () => {
    const user = '34612000003';
    // The LLM rejects the request on both attempts (INBOX_MAX_ATTEMPTS=2): a dead letter.
    await sandboxFault({ channel: 'llm', kind: 'chat_completion', status: 400, count: 2 });
    await chat.userSays(user, 'mensaje envenenado');
    await chat.untilCall(
      (c) => c.body?.to === user && c.body?.text?.body === texts('es').deadLetter,
      'the dead-letter notice',
    );
    await page.click('nav >> text=Failures');
    await untilText(page, '[data-testid=dead-row]', 'mensaje envenenado');
    expect(await page.textContent('[data-testid=dead-row]')).toMatch(/AssistantRejectedError/);
    await screenshot(page, SHOTS, '04-dead-letter');
    const before = (await chat.graphCalls()).length;
    await page.click('[data-testid=dead-row] >> [data-testid=replay]');
    await untilText(page, '.note-ok', 'back in the queue');
    // The fake LLM's answer quotes the message it answers.
    await chat.untilCall(
      (c) =>
        c.body?.to === user &&
        c.kind === 'send_text' &&
        c.seq > before &&
        (c.body?.text?.body ?? '').includes('mensaje envenenado'),
      'the answer to the replayed message',
    );
    // The row leaves the list by itself (the page refreshes).
    await untilText(page, '[data-testid=dead-table]', 'mensaje envenenado', false).catch(async () => {
      await page.waitForSelector('text=No inbound message has failed every attempt.', { timeout: 20_000 });
    });
  });

  it('Logs: text search, route and conversation filters, sandbox calls hidden by default, 404 URLs, trace/debug', async () => {
    const user = '34612000004';
    await chat.userSays(user, 'Hola desde los logs');
    await chat.untilCall((c) => c.body?.to === user && c.kind === 'send_text', 'the answer');
    const id = await chat.conversationId(user);
    const missing = await fetch(`${w.url}/no-such-page-4711?token=abc`);
    expect(missing.status).toBe(404);
    w.wadi.logger.trace({ marker: 'trace-4711' }, 'a trace-level line');

    await page.goto(`${w.url}/admin/ui/logs`);
    await page.waitForSelector('[data-testid=logs-table]');
    // Accepted webhook deliveries log their request line at debug (the hot path, issue 20).
    await page.selectOption('[data-testid=level]', 'debug');
    const rows = () =>
      page.$$eval('[data-testid=log-row]', (rs) =>
        rs.map((r) => ({
          level: r.getAttribute('data-level'),
          route: r.getAttribute('data-route'),
          conversation: r.getAttribute('data-conversation'),
          text: r.textContent ?? '',
        })),
      );
    // The fake platform and LLM served WADI's own calls: hidden, and said so.
    await page.waitForFunction(
      () =>
        [...document.querySelectorAll('[data-testid=log-row]')].some((r) => r.getAttribute('data-level') === 'debug'),
      undefined,
      WAIT,
    );
    await page.waitForSelector('[data-testid=log-sandbox-hidden]');
    expect(Number(/\d+/.exec((await page.textContent('[data-testid=log-sandbox-hidden]')) ?? '')?.[0])).toBeGreaterThan(
      0,
    );
    expect((await rows()).filter((r) => r.route?.startsWith('/sandbox/'))).toEqual([]);
    expect((await rows()).some((r) => r.route === '/webhooks/whatsapp')).toBe(true);
    await page.check('[data-testid=log-sandbox]');
    await page.waitForFunction(
      () =>
        [...document.querySelectorAll('[data-testid=log-row]')].some((r) =>
          r.getAttribute('data-route')?.startsWith('/sandbox/'),
        ),
      undefined,
      WAIT,
    );
    await page.uncheck('[data-testid=log-sandbox]');

    // The 404 line names the path that was asked for (not its query).
    await page.fill('[data-testid=log-search]', 'NO-SUCH-PAGE-4711');
    await page.waitForFunction(
      () => {
        const rs = [...document.querySelectorAll('[data-testid=log-row]')];
        return rs.length > 0 && rs.every((r) => r.textContent?.toLowerCase().includes('no-such-page-4711'));
      },
      undefined,
      WAIT,
    );
    await untilText(page, '[data-testid=log-url]', '/no-such-page-4711');
    const found = await rows();
    expect(found.length).toBeGreaterThan(0);
    expect(found.every((r) => r.text.toLowerCase().includes('no-such-page-4711'))).toBe(true);
    expect(found.some((r) => r.text.includes('token=abc'))).toBe(false);
    expect(page.url()).toContain('q=NO-SUCH-PAGE-4711');
    await screenshot(page, SHOTS, '05-logs-search-404');
    await page.fill('[data-testid=log-search]', '');

    // One route.
    await page.selectOption('[data-testid=log-route]', '/webhooks/whatsapp');
    await page.waitForFunction(
      () => {
        const rs = [...document.querySelectorAll('[data-testid=log-row]')];
        return rs.length > 0 && rs.every((r) => r.getAttribute('data-route') === '/webhooks/whatsapp');
      },
      undefined,
      WAIT,
    );
    await page.selectOption('[data-testid=log-route]', '');

    // One conversation, at debug level: its turn and its sent reply (debug lines) are there.
    await page.fill('[data-testid=log-conversation]', String(id));
    await untilText(page, '[data-testid=log-row]', 'turn committed');
    await untilText(page, '[data-testid=log-row]', 'reply part sent');
    const mine = await rows();
    expect(mine.every((r) => r.conversation === String(id))).toBe(true);
    expect(mine.some((r) => r.level === 'debug')).toBe(true);
    await screenshot(page, SHOTS, '06-logs-conversation-debug');
    // A conversation id that is not a number is explained, not sent.
    await page.fill('[data-testid=log-conversation]', '12abc');
    await page.waitForSelector('[data-testid=log-conversation-error]');
    await page.fill('[data-testid=log-conversation]', '');

    // Trace lines reach the buffer; the level filter shows them at trace and hides them above.
    await page.fill('[data-testid=log-search]', 'trace-4711');
    await page.waitForSelector('text=No debug or more severe records matching these filters');
    await page.selectOption('[data-testid=level]', 'trace');
    await untilText(page, '[data-testid=log-row]', 'a trace-level line');
    expect((await rows()).map((r) => r.level)).toEqual(['trace']);

    // The conversation view links to its lines.
    await page.goto(`${w.url}/admin/ui/conversations/${id}`);
    await page.click('[data-testid=conversation-logs]');
    await untilText(page, '[data-testid=log-row]', 'turn committed');
    expect(await page.inputValue('[data-testid=log-conversation]')).toBe(String(id));
  });

  it('on a phone: slim header, tables that visibly scroll, unclipped chart labels, 4.5:1 contrast, titles, favicon', async () => {
    const phone = await browser.newPage();
    await phone.setViewportSize({ width: 375, height: 667 });
    await login(phone);
    await phone.waitForSelector('[data-testid=status-strip]');
    expect(await phone.title()).toBe('Overview · WADI');

    // The header takes at most a sixth of the screen.
    const header = await phone.$eval('header.top', (h) => h.getBoundingClientRect().height);
    expect(header).toBeLessThanOrEqual(667 / 6);

    // Chart labels: nothing drawn in the outermost pixel columns of any chart (a clipped label would be).
    await phone.waitForSelector('[data-testid=chart-p95] canvas');
    const edges = await phone.$$eval('.chart canvas', (cs) =>
      (cs as HTMLCanvasElement[]).map((c) => {
        const ctx = c.getContext('2d');
        if (!ctx) return -1;
        const inked: number[] = [];
        for (const x of [0, 1, c.width - 2, c.width - 1]) {
          const col = ctx.getImageData(x, 0, 1, c.height).data;
          let n = 0;
          for (let i = 3; i < col.length; i += 4) if (col[i] > 0) n++;
          inked.push(n);
        }
        return inked.join(',');
      }),
    );
    expect(edges.length).toBe(3);
    await screenshot(phone, SHOTS, '06b-phone-charts');
    expect(edges).toEqual(['0,0,0,0', '0,0,0,0', '0,0,0,0']);

    // Contrast, from computed styles, of every visible text on every page.
    const contrastProblems = () =>
      phone.evaluate(() => {
        const rgba = (s: string) => {
          const m = /rgba?\(([^)]+)\)/.exec(s);
          if (!m) return [0, 0, 0, 0];
          const p = m[1]
            .split(/[,\s/]+/)
            .filter(Boolean)
            .map(Number);
          return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
        };
        const lum = ([r, g, b]: number[]) => {
          const f = (v: number) => {
            const c = v / 255;
            return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
          };
          return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
        };
        const background = (el: Element | null): number[] => {
          for (let e = el; e; e = e.parentElement) {
            const c = rgba(getComputedStyle(e).backgroundColor);
            if (c[3] > 0.5) return c;
          }
          return [255, 255, 255, 1];
        };
        const out: string[] = [];
        const seen = new Set<string>();
        for (const el of document.querySelectorAll('body *')) {
          const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent?.trim());
          if (!own) continue;
          const r = el.getBoundingClientRect();
          const st = getComputedStyle(el);
          if (r.width === 0 || r.height === 0 || st.visibility === 'hidden' || st.color === 'rgba(0, 0, 0, 0)')
            continue;
          if ((el as HTMLButtonElement).disabled || el.closest('[disabled]')) continue;
          const fg = rgba(st.color);
          const bg = background(el);
          const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
          const ratio = (a + 0.05) / (b + 0.05);
          const key = `${el.tagName}.${el.className}:${st.color}/${bg.join(',')}`;
          if (ratio < 4.5 && !seen.has(key)) {
            seen.add(key);
            out.push(`${key} ${ratio.toFixed(2)} "${el.textContent?.trim().slice(0, 30)}"`);
          }
        }
        return out;
      });
    const checked: string[] = [];
    const pages = [
      ['Overview', '/admin'],
      ['Conversations', '/admin/ui/conversations'],
      ['Failures', '/admin/ui/failures'],
      ['Logs', '/admin/ui/logs'],
    ] as const;
    for (const [title, url] of pages) {
      await phone.goto(`${w.url}${url}`);
      await phone.waitForSelector('main h1');
      await phone.waitForLoadState('networkidle');
      expect(await phone.title()).toBe(`${title} · WADI`);
      expect(await contrastProblems(), title).toEqual([]);
      // Nothing wider than the screen: wide tables scroll inside their box.
      const wider = await phone.evaluate(() =>
        document.documentElement.scrollWidth - window.innerWidth <= 1
          ? []
          : [...document.querySelectorAll('body *')]
              .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1)
              .filter((e) => {
                // Inside a box that scrolls sideways (the nav, a table) is where it belongs.
                for (let p = e.parentElement; p; p = p.parentElement) {
                  if (/auto|scroll/.test(getComputedStyle(p).overflowX) && p !== document.documentElement) return false;
                }
                return true;
              })
              .map((e) => `${e.tagName}.${e.className} ${Math.round(e.getBoundingClientRect().right)}`)
              .slice(0, 8),
      );
      expect(wider, title).toEqual([]);
      checked.push(title);
    }
    const id = (await chat.admin<{ items: { id: number }[] }>('GET', '/sessions?limit=1')).json.items[0].id;
    await phone.goto(`${w.url}/admin/ui/conversations/${id}`);
    await phone.waitForSelector('[data-testid=msg-out]');
    expect(await phone.title()).toBe(`Conversation #${id} · WADI`);
    expect(await contrastProblems()).toEqual([]);
    expect(checked).toHaveLength(4);

    // The conversation list scrolls sideways in its box, with a hint and a shaded edge.
    await phone.goto(`${w.url}/admin/ui/conversations`);
    await phone.waitForSelector('[data-testid=sessions-table]');
    const box = phone.locator('[data-testid=table-scroll]').first();
    const geometry = await box.evaluate((el) => ({
      overflowX: getComputedStyle(el).overflowX,
      scrollable: el.scrollWidth > el.clientWidth + 20,
      shadow: getComputedStyle(el).boxShadow,
    }));
    expect(geometry.overflowX).toBe('auto');
    expect(geometry.scrollable).toBe(true);
    expect(geometry.shadow).not.toBe('none');
    await phone.waitForSelector('[data-testid=scroll-hint]');
    expect(await phone.isVisible('[data-testid=scroll-hint]')).toBe(true);
    expect(await phone.textContent('[data-testid=scroll-hint]')).toContain('→');
    await screenshot(phone, SHOTS, '07-phone-conversations');
    await box.evaluate((el) => {
      el.scrollLeft = el.scrollWidth;
    });
    await phone.waitForFunction(
      () => /←/.test(document.querySelector('[data-testid=scroll-hint]')?.textContent ?? ''),
      undefined,
      WAIT,
    );
    expect(await phone.textContent('[data-testid=scroll-hint]')).not.toContain('→');

    // A favicon, linked and served (no 404 in the log either).
    const icon = await phone.evaluate(async () => {
      const href = (document.querySelector('link[rel=icon]') as HTMLLinkElement | null)?.href ?? '';
      const res = await fetch(href);
      return { href, status: res.status, type: res.headers.get('content-type') ?? '' };
    });
    expect(icon).toMatchObject({ status: 200, type: expect.stringContaining('image/svg+xml') });
    const ico = await fetch(`${w.url}/favicon.ico`);
    expect(ico.status).toBe(200);
    expect(await ico.text()).toContain('<svg');
    await screenshot(phone, SHOTS, '08-phone-overview');
    await phone.close();
  });

  it('the status strip under sandbox traffic, then with the server stopped, then back', async () => {
    const rates = async (): Promise<[number, number]> => {
      const st = (await chat.admin<{ perMinute: { inbound: number; outbound: number } }>('GET', '/status')).json;
      return [st.perMinute.inbound, st.perMinute.outbound];
    };
    const [inBefore, outBefore] = await rates();
    for (let i = 0; i < 3; i++) {
      const user = `3461300000${i}`;
      await chat.userSays(user, `hola ${i}`);
      await chat.untilCall((c) => c.body?.to === user && c.kind === 'send_text', `answer ${i}`);
    }
    await page.goto(`${w.url}/admin`);
    await page.waitForSelector('[data-testid=status-rates]');
    await untilText(page, '[data-testid=status-last-inbound]', 'whatsapp: last message');
    // Messages in and out per minute move with the users' traffic (not the dashboard's polling).
    const [inAfter, outAfter] = await rates();
    expect(inAfter).toBeGreaterThan(inBefore);
    expect(outAfter).toBeGreaterThan(outBefore);
    await page.waitForFunction(
      ([i, o]) => {
        const m = /([\d.]+) in \/ ([\d.]+) out/.exec(
          document.querySelector('[data-testid=status-rates]')?.textContent ?? '',
        );
        return m !== null && Number(m[1]) === i && Number(m[2]) === o;
      },
      [inAfter, outAfter] as const,
      WAIT,
    );
    await page.waitForFunction(
      () =>
        /median/.test(document.querySelector('[data-testid=status-ttr]')?.textContent ?? '') &&
        !/— median/.test(document.querySelector('[data-testid=status-ttr]')?.textContent ?? ''),
      undefined,
      WAIT,
    );
    expect(await page.textContent('[data-testid=status-overall]')).not.toBe('unreachable');
    expect(await page.$('[data-testid=connection-lost]')).toBeNull();
    await screenshot(page, SHOTS, '09-status-traffic');

    // A second tab has a conversation open, its data loaded.
    const tab = await browser.newPage();
    await login(tab);
    const id = await chat.conversationId('34613000000');
    await tab.goto(`${w.url}/admin/ui/conversations/${id}`);
    await tab.waitForSelector('[data-testid=pause]');

    // The server stops: one banner with the time, the data greyed out, the strip says unreachable.
    const port = Number(new URL(w.url).port);
    await w.stop();
    for (const p of [page, tab]) await p.waitForSelector('[data-testid=connection-lost]', { timeout: 30_000 });
    const banner = (await page.textContent('[data-testid=connection-lost]')) ?? '';
    const hhmm = /since (\d{1,2}):(\d{2})/.exec(banner);
    expect(hhmm, banner).not.toBeNull();
    const shown = Number(hhmm![1]) * 60 + Number(hhmm![2]);
    const local = await page.evaluate(() => {
      const d = new Date();
      return d.getHours() * 60 + d.getMinutes();
    });
    expect(Math.abs(local - shown) <= 1 || Math.abs(local - shown) >= 1439, `${banner} at ${local}`).toBe(true);
    await untilText(page, '[data-testid=status-overall]', 'unreachable');
    expect(await page.$eval('main', (m) => getComputedStyle(m).filter)).toContain('grayscale');
    expect(await page.$$('[data-testid=connection-lost]')).toHaveLength(1);
    await screenshot(page, SHOTS, '10-server-stopped');
    // What was loaded stays readable (greyed), and an action fails in words.
    expect(await tab.textContent('[data-testid=conversation-state]')).toContain('the bot answers');
    await tab.click('[data-testid=pause]');
    await untilText(tab, '.note-error', 'did not answer');
    await screenshot(tab, SHOTS, '11-action-while-stopped');

    // WADI answers again on the same address: the banner, the grey and the action error clear.
    w = await startTestWadi(t.database, { env, port });
    for (const p of [page, tab]) {
      await p.waitForSelector('[data-testid=connection-lost]', { state: 'detached', timeout: 30_000 });
      expect(await p.$eval('main', (m) => getComputedStyle(m).filter)).toBe('none');
    }
    await tab.waitForFunction(
      () => ![...document.querySelectorAll('.note-error')].some((e) => /did not answer/.test(e.textContent ?? '')),
      undefined,
      WAIT,
    );
    await page.waitForFunction(
      () => document.querySelector('[data-testid=status-overall]')?.textContent !== 'unreachable',
      undefined,
      WAIT,
    );
    // And the action works now.
    await tab.click('[data-testid=pause]');
    await untilText(tab, '[data-testid=conversation-state]', 'paused');
    await screenshot(page, SHOTS, '12-back');
    await tab.close();
  });
});
