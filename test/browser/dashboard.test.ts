/**
 * The admin dashboard in a real browser (Debian's Chromium via playwright-core) against a whole
 * WADI on PostgreSQL: log in, live numbers, logs filter, conversations, pause/resume, Try it.
 * Screenshots go to test-results/dashboard/.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExtraModule } from '../../src/app/wadi.ts';
import type { StatsProvider } from '../../src/observability/metrics/window-stats.ts';
import { seedConversation, seedInbound, seedOutbound } from '../helpers/admin-seed.ts';
import { chromiumPath, launchBrowser, screenshot, type TestBrowser } from '../helpers/browser.ts';
import { type TestDb, testDatabase } from '../helpers/db.ts';
import { startTestWadi, TEST_ADMIN_KEY, type TestWadi } from '../helpers/wadi.ts';

const chromium = chromiumPath();
const SHOTS = 'dashboard';

/**
 * Request counting for the Overview's numbers when the observability feature is not in this build
 * (it provides the real `ops.stats`; when present, this module steps aside).
 */
const countingStats: ExtraModule = (_ctx, wiring) => {
  if (wiring.admin.stats) return { name: 'test-stats' };
  const done: { t: number; ms: number; error: boolean }[] = [];
  const window = (seconds: number) => {
    const xs = done.filter((d) => d.t > Date.now() - seconds * 1000);
    const sorted = xs.map((d) => d.ms).sort((a, b) => a - b);
    return {
      windowSeconds: seconds,
      requests: xs.length,
      rps: xs.length / seconds,
      p95Ms: sorted.length ? sorted[Math.floor(sorted.length * 0.95)] : null,
      errorRate: xs.length ? xs.filter((d) => d.error).length / xs.length : 0,
      serverErrors: 0,
    };
  };
  const stats: StatsProvider = {
    windows: () => ({ '1m': window(60), '5m': window(300), '15m': window(900) }),
    series: (minutes) =>
      Array.from({ length: minutes }, (_, i) => {
        const start = Math.floor(Date.now() / 60_000) * 60_000 - (minutes - 1 - i) * 60_000;
        const xs = done.filter((d) => d.t >= start && d.t < start + 60_000);
        return { t: start, rps: xs.length / 60, p95Ms: null, errorRate: 0 };
      }),
  };
  wiring.admin.stats = stats;
  const hook: FastifyPluginAsync = async (app) => {
    app.addHook('onResponse', async (req, reply) => {
      if (req.url.startsWith('/health/') || req.url === '/metrics') return;
      done.push({ t: Date.now(), ms: reply.elapsedTime, error: reply.statusCode >= 400 });
    });
  };
  // Applies to every route, like the real metrics hook.
  Object.assign(hook, { [Symbol.for('skip-override')]: true });
  return { name: 'test-stats', prePlugins: [hook] };
};

/** The strict policy the dashboard must live with (the security feature's, when present, wins). */
const STRICT_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "object-src 'none'; base-uri 'none'; frame-ancestors 'none'";
const strictCsp: ExtraModule = () => {
  const hook: FastifyPluginAsync = async (app) => {
    app.addHook('onSend', async (req, reply) => {
      if (req.url.startsWith('/admin') && !reply.hasHeader('content-security-policy')) {
        reply.header('content-security-policy', STRICT_CSP);
      }
    });
  };
  Object.assign(hook, { [Symbol.for('skip-override')]: true });
  return { name: 'test-csp', prePlugins: [hook] };
};
const cspViolations: string[] = [];

let t: TestDb;
let w: TestWadi;
let browser: TestBrowser;
let page: Page;
const people: Record<string, number> = {};

// Functions, not strings: string predicates are eval'd in the page, which the strict CSP forbids.
const WAIT = { timeout: 20_000, polling: 200 };
/** Waits until the number shown in [data-testid=id] is at least `n`. */
const untilNumber = (id: string, n: number) =>
  page.waitForFunction(
    ([id, n]) => Number(document.querySelector(`[data-testid=${id}]`)?.textContent) >= n,
    [id, n] as const,
    WAIT,
  );
/** Waits until the text of [data-testid=id] includes (or, with present=false, lacks) `text`. */
const untilText = (id: string, text: string, present = true) =>
  page.waitForFunction(
    ([id, text, present]) =>
      (document.querySelector(`[data-testid=${id}]`)?.textContent?.includes(text) ?? false) === present,
    [id, text, present] as const,
    WAIT,
  );

async function login(p: Page, key: string) {
  await p.goto(`${w.url}/admin`);
  await p.fill('[data-testid=key-input]', key);
  await p.click('[data-testid=login]');
}

describe.runIf(chromium)('admin dashboard in Chromium', () => {
  beforeAll(async () => {
    t = await testDatabase();
    w = await startTestWadi(t.database, { extraModules: [countingStats, strictCsp] });
    people.ana = await seedConversation(t.database, { chatId: '34600000001', name: 'Ana García', minutesAgo: 2 });
    people.ben = await seedConversation(t.database, {
      chatId: '555123',
      name: 'Ben Telegram',
      channel: 'telegram',
      minutesAgo: 5,
    });
    const in1 = await seedInbound(t.database, {
      conversationId: people.ana,
      chatId: '34600000001',
      text: 'Hola, ¿abrís hoy?',
      secondsAgo: 120,
    });
    await seedOutbound(t.database, {
      conversationId: people.ana,
      chatId: '34600000001',
      inboxId: in1,
      text: 'Sí, de 9 a 18.',
      status: 'delivered',
      secondsAgo: 118,
    });
    browser = await launchBrowser(chromium!);
    page = await browser.newPage();
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
    });
    page.on('pageerror', (e) => cspViolations.push(`page error: ${e.message}`));
  });
  afterAll(async () => {
    await browser?.close();
    await w?.stop();
    await t?.drop();
  });

  it('shows an error in words for a wrong key', async () => {
    await login(page, 'definitely-not-the-key');
    await page.waitForSelector('[data-testid=login-error]');
    expect(await page.textContent('[data-testid=login-error]')).toContain('not accepted');
    await screenshot(page, SHOTS, '01-wrong-key');
  });

  it('logs in and shows live numbers that move after traffic', async () => {
    await login(page, TEST_ADMIN_KEY);
    await page.waitForSelector('[data-testid=requests-1m]');
    await page.waitForSelector('[data-testid=health-table]');
    const before = Number(await page.textContent('[data-testid=requests-1m]'));
    const delivered = Number(await page.textContent('[data-testid=out-lastHour-delivered]'));
    // Traffic any stats provider counts: ordinary, successful requests.
    for (let i = 0; i < 25; i++) await fetch(`${w.url}/admin/info`, { headers: { 'x-admin-key': TEST_ADMIN_KEY } });
    await seedOutbound(t.database, {
      conversationId: people.ben,
      chatId: '555123',
      text: 'nuevo',
      status: 'delivered',
    });
    // The page refreshes by itself (every 5 s): no reload here.
    await untilNumber('requests-1m', before + 25);
    await untilNumber('out-lastHour-delivered', delivered + 1);
    expect(await page.textContent('[data-testid=health-table]')).toContain('database:responseTime');
    expect(await page.locator('[data-testid=chart-rps] canvas').count()).toBe(1);
    expect(await page.evaluate(() => sessionStorage.getItem('wadi.adminKey'))).toBe(TEST_ADMIN_KEY);
    await screenshot(page, SHOTS, '02-overview');
  });

  it('filters logs by level', async () => {
    w.wadi.logger.warn('browser-test warn marker');
    w.wadi.logger.error('browser-test error marker');
    await page.click('nav >> text=Logs');
    await page.waitForSelector('[data-testid=logs-table]');
    await untilText('logs-table', 'browser-test warn marker');
    await page.selectOption('[data-testid=level]', 'error');
    await untilText('logs-table', 'browser-test warn marker', false);
    expect(await page.textContent('[data-testid=logs-table]')).toContain('browser-test error marker');
    const levels = await page.$$eval('[data-testid=log-row]', (rows) => rows.map((r) => r.getAttribute('data-level')));
    expect(levels.length).toBeGreaterThan(0);
    expect(levels.every((l) => l === 'error' || l === 'fatal')).toBe(true);
    await screenshot(page, SHOTS, '03-logs-error-level');
  });

  it('lists conversations, searches them, and opens one with its messages and timeline', async () => {
    await page.click('nav >> text=Conversations');
    await page.waitForSelector('[data-testid=sessions-table]');
    const table = await page.textContent('[data-testid=sessions-table]');
    expect(table).toContain('Ana García');
    expect(table).toContain('Ben Telegram');
    await page.fill('[data-testid=search]', 'ben');
    await untilText('sessions-table', 'Ana García', false);
    await page.fill('[data-testid=search]', 'garcía');
    await untilText('sessions-table', 'Ana García');
    await page.click('text=Ana García');
    await page.waitForSelector('[data-testid=msg-out]');
    expect(page.url()).toBe(`${w.url}/admin/ui/conversations/${people.ana}`);
    expect(await page.textContent('[data-testid=msg-in]')).toContain('Hola, ¿abrís hoy?');
    expect(await page.textContent('[data-testid=msg-out]')).toContain('Sí, de 9 a 18.');
    expect(await page.textContent('[data-testid=msg-out]')).toContain('delivered');
    await page.click('[data-testid=msg-out] summary');
    expect(await page.textContent('[data-testid=msg-out] [data-testid=timeline]')).toContain('delivered');
    await screenshot(page, SHOTS, '04-conversation');
    // A reload on a client route serves the dashboard again (SPA fallback) and keeps the session.
    await page.reload();
    await page.waitForSelector('[data-testid=msg-out]');
  });

  it('pauses and resumes the bot for a conversation', async () => {
    await page.click('button:has-text("Pause bot")');
    await untilText('conversation-state', 'paused');
    const paused = await t.database.query<{ paused: boolean }>('select paused from conversations where id = $1', [
      people.ana,
    ]);
    expect(paused.rows[0].paused).toBe(true);
    await screenshot(page, SHOTS, '05-paused');
    await page.click('button:has-text("Resume bot")');
    await untilText('conversation-state', 'the bot answers');
    const resumed = await t.database.query<{ paused: boolean }>('select paused from conversations where id = $1', [
      people.ana,
    ]);
    expect(resumed.rows[0].paused).toBe(false);
  });

  it('ran under a strict CSP (scripts and styles from files only) without a violation or page error', () => {
    expect(cspViolations).toEqual([]);
  });

  it('is readable on a phone', async () => {
    const phone = await browser.newPage();
    await phone.setViewportSize({ width: 390, height: 844 });
    await phone.goto(`${w.url}/admin`);
    await phone.fill('[data-testid=key-input]', TEST_ADMIN_KEY);
    await phone.click('[data-testid=login]');
    await phone.waitForSelector('[data-testid=requests-1m]');
    // Nothing wider than the screen.
    const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(1);
    await screenshot(phone, SHOTS, '06-phone-overview');
    await phone.close();
  });

  it('Try it: sends as a WhatsApp user, shows the reply, then the conversation', async (ctx) => {
    // Needs the channel webhooks and the conversation engine (other features); skipped until they are in.
    const probe = await fetch(`${w.url}/webhooks/whatsapp`, { method: 'POST', body: '{}' });
    if (probe.status === 404) ctx.skip('POST /webhooks/whatsapp does not exist in this build');
    await page.click('nav >> text=Try it');
    await page.fill('[data-testid=try-from]', '34699999999');
    await page.fill('[data-testid=try-text]', 'Hola WADI, ¿qué tal? 👋');
    await page.click('[data-testid=try-send]');
    await page.waitForSelector('[data-testid=bubble-me]');
    await page.waitForSelector('[data-testid=bubble-wadi]', { timeout: 30_000 });
    expect((await page.textContent('[data-testid=bubble-wadi]'))?.length).toBeGreaterThan(0);
    await screenshot(page, SHOTS, '07-try-it');
    await page.click('[data-testid=open-conversation]');
    await page.waitForSelector('[data-testid=msg-out]', { timeout: 20_000 });
    expect(await page.textContent('[data-testid=messages]')).toContain('Hola WADI, ¿qué tal? 👋');
    await screenshot(page, SHOTS, '08-try-it-conversation');
  });
});
