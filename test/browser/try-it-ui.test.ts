/**
 * The "Try it" page against stand-in webhooks that answer like an echo bot by recording a send in
 * the sandbox (the real webhooks and conversation engine are other features; the end-to-end run
 * with them is in dashboard.test.ts). Proves the page's own loop: send, show, poll, show the reply.
 */
import type { FastifyPluginAsync } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExtraModule } from '../../src/app/wadi.ts';
import type { SandboxState } from '../../src/sandbox/state.ts';
import { chromiumPath, launchBrowser, screenshot, type TestBrowser } from '../helpers/browser.ts';
import { type TestDb, testDatabase } from '../helpers/db.ts';
import { startTestWadi, TEST_ADMIN_KEY, type TestWadi } from '../helpers/wadi.ts';

const chromium = chromiumPath();

const echoWebhooks: ExtraModule = (_ctx, wiring) => {
  const state = () => wiring.sandboxState as SandboxState;
  const plugin: FastifyPluginAsync = async (app) => {
    app.post('/webhooks/whatsapp', async (req) => {
      const body = req.body as {
        entry: { changes: { value: { messages: { from: string; text: { body: string } }[] } }[] }[];
      };
      const msg = body.entry[0].changes[0].value.messages[0];
      state().record({
        channel: 'whatsapp',
        kind: 'send_text',
        method: 'POST',
        path: '/stand-in',
        status: 200,
        body: { to: msg.from, type: 'text', text: { body: `echo: ${msg.text.body}` } },
      });
      return { ok: true };
    });
    app.post('/webhooks/telegram', async (req) => {
      const m = (req.body as { message: { chat: { id: number }; text: string } }).message;
      state().record({
        channel: 'telegram',
        kind: 'sendMessage',
        method: 'POST',
        path: '/stand-in',
        status: 200,
        body: { chat_id: m.chat.id, text: `echo: ${m.text}` },
      });
      return { ok: true };
    });
  };
  return { name: 'echo-webhooks', plugins: [plugin] };
};

describe.runIf(chromium)('Try it page (stand-in webhooks)', () => {
  let t: TestDb;
  let w: TestWadi;
  let browser: TestBrowser;
  beforeAll(async () => {
    t = await testDatabase();
    w = await startTestWadi(t.database, { features: ['sandbox', 'admin'], extraModules: [echoWebhooks] });
    browser = await launchBrowser(chromium!);
  });
  afterAll(async () => {
    await browser?.close();
    await w?.stop();
    await t?.drop();
  });

  it('sends as a WhatsApp user and as a Telegram user and shows each reply', async () => {
    const page = await browser.newPage();
    await page.goto(`${w.url}/admin/ui/try`);
    await page.fill('[data-testid=key-input]', TEST_ADMIN_KEY);
    await page.click('[data-testid=login]');
    await page.fill('[data-testid=try-text]', 'Hola 👋');
    await page.click('[data-testid=try-send]');
    await page.waitForSelector('[data-testid=bubble-wadi]');
    expect(await page.textContent('[data-testid=bubble-me]')).toContain('Hola 👋');
    expect(await page.textContent('[data-testid=bubble-wadi]')).toContain('echo: Hola 👋');
    await screenshot(page, 'dashboard', '09-try-it-stand-in');

    await page.selectOption('[data-testid=try-channel]', 'telegram');
    await page.fill('[data-testid=try-text]', '/start');
    await page.click('[data-testid=try-send]');
    await page.waitForFunction(
      () =>
        [...document.querySelectorAll('[data-testid=bubble-wadi]')].some((b) =>
          b.textContent?.includes('echo: /start'),
        ),
      undefined,
      { timeout: 20_000, polling: 200 },
    );
    // The WhatsApp transcript was left behind with the WhatsApp chat.
    expect(await page.locator('[data-testid=bubble-wadi]').count()).toBe(1);
    await page.close();
  });
});
