/**
 * Alerts you can trust, in a real browser (Debian's Chromium via playwright-core) against a whole
 * WADI on PostgreSQL with its own alert engine running (every 10 s): an idle bot with the dashboard
 * open, a favicon 404 and two wrong admin keys raises no alert, while a real burst of webhook
 * failures above the minimum volume shows HighErrorRate pending (apart from firing) with its value.
 * The page warns that no alert destination is configured. Screenshots go to test-results/alerts/.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SANDBOX_CREDENTIALS } from '../../src/config/config.ts';
import { metaJson, signWhatsapp, whatsappTextWebhook } from '../../src/sandbox/payloads.ts';
import { chromiumPath, launchBrowser, screenshot, type TestBrowser } from '../helpers/browser.ts';
import { type TestDb, testDatabase } from '../helpers/db.ts';
import { startTestWadi, TEST_ADMIN_KEY, type TestWadi } from '../helpers/wadi.ts';

const chromium = chromiumPath();
const SHOTS = 'alerts';
// Two evaluation rounds (10 s each) and then some, on a busy machine.
const WAIT = { timeout: 40_000, polling: 250 };

let t: TestDb;
let w: TestWadi;
let browser: TestBrowser;
let page: Page;

interface AlertsBody {
  firing: { alert: string }[];
  pending: { alert: string; value?: string }[];
  rules: { evaluatedAt?: string; items: { alert: string; state: string; value?: string }[] };
  destinations: string[];
}

async function alerts(): Promise<AlertsBody> {
  const res = await fetch(`${w.url}/admin/alerts`, { headers: { 'x-admin-key': TEST_ADMIN_KEY } });
  expect(res.status).toBe(200);
  return (await res.json()) as AlertsBody;
}

/** Waits for an evaluation round that started after `since` (ms). */
async function evaluatedAfter(since: number): Promise<AlertsBody> {
  const deadline = Date.now() + WAIT.timeout;
  for (;;) {
    const a = await alerts();
    if (a.rules.evaluatedAt && Date.parse(a.rules.evaluatedAt) > since) return a;
    if (Date.now() > deadline) throw new Error(`no alert evaluation after ${new Date(since).toISOString()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const ruleState = (alert: string) =>
  page.locator(`[data-testid=alert-rules] tr[data-alert=${alert}]`).getAttribute('data-state');

describe.runIf(chromium)('the Alerts page in Chromium', () => {
  beforeAll(async () => {
    t = await testDatabase();
    // No ALERT_TELEGRAM_* / ALERT_SLACK_WEBHOOK_URL: alerts reach nobody, and the page must say so.
    w = await startTestWadi(t.database, { env: { WADI_SANDBOX: 'true', COALESCE_DEBOUNCE_MS: '0' } });
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
    await t?.drop();
  });

  it('warns that no alert destination is configured, and lists every rule with its state', async () => {
    await page.goto(`${w.url}/admin/ui/alerts`);
    const warning = page.locator('[data-testid=no-destination]');
    await warning.waitFor(WAIT);
    expect(await warning.textContent()).toContain('No alert destination is configured');
    expect(await warning.textContent()).toContain('ALERT_SLACK_WEBHOOK_URL');
    expect((await alerts()).destinations).toEqual([]);
    await page.waitForSelector('[data-testid=alert-rules] tr[data-alert=HighErrorRate]', WAIT);
    const names = await page
      .locator('[data-testid=alert-rules] tbody tr')
      .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-alert')));
    expect(names).toEqual(expect.arrayContaining(['HighErrorRate', 'WebhookSignatureInvalid', 'ServiceNotReady']));
    expect(names).toHaveLength((await alerts()).rules.items.length);
    // A rule's runbook opens in the page, from the bundled operations guide.
    const row = page.locator('[data-testid=alert-rules] tr[data-alert=HighErrorRate]');
    await row.locator('button', { hasText: 'Runbook' }).click();
    const section = page.locator('[data-testid=alert-rules] tr[data-runbook=HighErrorRate] .runbook');
    await section.waitFor(WAIT);
    expect(await section.textContent()).toContain('Why 5xx and not "4xx/5xx"');
    expect(await section.textContent()).not.toContain('### HighErrorRate');
    await screenshot(page, SHOTS, '1-no-destination');
  });

  it('an idle bot with the dashboard open, a favicon 404 and two wrong admin keys raises no alert', async () => {
    const start = Date.now();
    // What a browser and a stray operator do: the icons it looks for, and two mistyped keys…
    await fetch(`${w.url}/favicon.ico`).then((r) => r.arrayBuffer());
    const icon = await fetch(`${w.url}/apple-touch-icon-precomposed.png`);
    expect(icon.status).toBe(404);
    for (const key of ['wadi-admin-key-typo', 'WADI-ADMIN-KEY']) {
      const r = await fetch(`${w.url}/admin/health`, { headers: { 'x-admin-key': key } });
      expect(r.status).toBe(401);
    }
    // …next to the dashboard's polling: enough requests for the minimum volume (20), so the old
    // 4xx-or-5xx rule (3 errors in ~25 requests, over 5 %) would have gone pending here.
    for (let i = 0; i < 20; i++) {
      const r = await fetch(`${w.url}/admin/queues`, { headers: { 'x-admin-key': TEST_ADMIN_KEY } });
      expect(r.status).toBe(200);
    }
    const a = await evaluatedAfter(Date.now() + 100);
    const rule = a.rules.items.find((r) => r.alert === 'HighErrorRate');
    expect(rule?.state).toBe('ok');
    expect(rule?.value).toMatch(/^0 % of \d+ requests \(0 5xx, 0 webhook events not stored\)$/);
    expect(Number(/of (\d+) requests/.exec(rule?.value ?? '')?.[1])).toBeGreaterThanOrEqual(20);
    expect(a.pending.map((x) => x.alert)).not.toContain('HighErrorRate');
    expect(a.firing).toEqual([]);
    expect(start).toBeLessThan(Date.parse(a.rules.evaluatedAt ?? ''));

    // The page says the same.
    await page.reload();
    await page.waitForSelector('[data-testid=alert-rules] tr[data-alert=HighErrorRate]', WAIT);
    expect(await ruleState('HighErrorRate')).toBe('ok');
    expect(await page.locator('[data-testid=alerts-firing]').count()).toBe(0);
    expect(await page.locator('[data-testid=alerts-pending] tr[data-alert=HighErrorRate]').count()).toBe(0);
    expect(await page.textContent('body')).toContain('No alert is firing.');
    await screenshot(page, SHOTS, '2-idle-no-alert');
  });

  it('a burst of webhook deliveries the database cannot store shows HighErrorRate pending, apart from firing', async () => {
    // 25 signed WhatsApp deliveries whose timestamp PostgreSQL cannot hold (year 255479): each is
    // acknowledged 200 and kept in unstorable_deliveries, so users' messages are lost to the bot.
    for (let i = 0; i < 25; i++) {
      const body = metaJson(
        whatsappTextWebhook({
          from: `3469900${String(i).padStart(4, '0')}`,
          id: `wamid.poison.${Date.now()}.${i}`,
          text: 'hola',
          timestamp: 8_000_000_000_000,
        }),
      );
      const res = await fetch(`${w.url}/webhooks/whatsapp`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-hub-signature-256': signWhatsapp(body, SANDBOX_CREDENTIALS.whatsappAppSecret),
        },
        body,
      });
      expect(res.status).toBe(200);
    }
    await page.waitForSelector('[data-testid=alerts-pending] tr[data-alert=HighErrorRate]', WAIT);
    const row = page.locator('[data-testid=alerts-pending] tr[data-alert=HighErrorRate]');
    expect(await row.textContent()).toMatch(/\d+(\.\d)? % of \d+ requests \(0 5xx, 25 webhook events not stored\)/);
    expect(await row.textContent()).toContain('pending');
    // Pending, not firing: nobody is told until it has held for a minute.
    expect(await page.locator('[data-testid=alerts-firing] tr[data-alert=HighErrorRate]').count()).toBe(0);
    expect(await ruleState('HighErrorRate')).toBe('pending');
    await screenshot(page, SHOTS, '3-burst-pending');
    const a = await alerts();
    expect(a.pending.map((x) => x.alert)).toContain('HighErrorRate');
    expect(a.firing.map((x) => x.alert)).not.toContain('HighErrorRate');
  });
});
