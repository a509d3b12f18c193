/**
 * Media in the dashboard, in real Chromium against a whole sandbox WADI on PostgreSQL: Try it
 * attaches a voice note, an image and a document (uploaded to the sandbox media store, sent as a
 * real media webhook, downloaded by the worker from the fake Graph API, transcribed / seen / read),
 * shows the replies, keeps its transcript across pages and reloads, shows only accepted sends, counts
 * characters; the conversation view then shows each inbound media message's kind, size and derived text.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SandboxState } from '../../src/sandbox/state.ts';
import { chromiumPath, launchBrowser, screenshot, type TestBrowser } from '../helpers/browser.ts';
import { type TestDb, testDatabase } from '../helpers/db.ts';
import { makePdf } from '../helpers/media-fixtures.ts';
import { startTestWadi, TEST_ADMIN_KEY, type TestWadi } from '../helpers/wadi.ts';

const chromium = chromiumPath();
const SHOTS = 'media';
const WAIT = { timeout: 30_000, polling: 200 };

const ENV = {
  WADI_SANDBOX: 'true',
  WADI_SANDBOX_LLM: 'true',
  TELEGRAM_MODE: 'webhook',
  ASSISTANT_VISION: 'true',
  COALESCE_DEBOUNCE_MS: '200',
  WORKER_POLL_MS: '50',
  OUTBOX_RETRY_BASE_MS: '20',
  OPENAI_MAX_RETRIES: '1',
  ASSISTANT_BREAKER_FAILURES: '1000',
  LOG_LEVEL: 'warn',
};

/** The texts of WADI's bubbles. */
const wadiBubbles = (page: Page) => page.locator('[data-testid=bubble-wadi]').allTextContents();

/** Waits until some WADI bubble includes `text`. */
const untilReply = (page: Page, text: string) =>
  page.waitForFunction(
    (text) => [...document.querySelectorAll('[data-testid=bubble-wadi]')].some((b) => b.textContent?.includes(text)),
    text,
    WAIT,
  );

describe.runIf(chromium)('media in the dashboard (Try it and the conversation view)', () => {
  let t: TestDb;
  let w: TestWadi;
  let browser: TestBrowser;
  let page: Page;
  const from = '34611223344';
  const transcript = 'hola, quiero reservar una mesa para cuatro el sábado';
  const pdfText = 'Menu del dia: sopa de ajo y tortilla';
  const state = () => w.wadi.wiring.sandboxState as SandboxState;

  beforeAll(async () => {
    t = await testDatabase();
    w = await startTestWadi(t.database, { env: ENV });
    browser = await launchBrowser(chromium!);
    page = await browser.newPage();
    await page.goto(`${w.url}/admin/ui/try`);
    await page.fill('[data-testid=key-input]', TEST_ADMIN_KEY);
    await page.click('[data-testid=login]');
    await page.fill('[data-testid=try-from]', from);
  }, 90_000);
  afterAll(async () => {
    await browser?.close();
    await w?.stop();
    await t?.drop();
  });

  it('attaches a voice note, an image and a document and shows each reply', async () => {
    // A voice note: the fake transcription API "hears" the bytes as text.
    await page.setInputFiles('[data-testid=try-file]', {
      name: 'nota.ogg',
      mimeType: 'audio/ogg',
      buffer: Buffer.from(transcript),
    });
    expect(await page.inputValue('[data-testid=try-kind]')).toBe('voice');
    expect(await page.textContent('[data-testid=try-attachment]')).toContain('nota.ogg');
    await page.click('[data-testid=try-send]');
    await untilReply(page, `[sandbox] ${transcript}`);
    expect(await page.locator('[data-testid=bubble-media]').first().textContent()).toContain('voice note · nota.ogg');
    // The attachment was sent: the composer is empty again.
    expect(await page.locator('[data-testid=try-attachment]').count()).toBe(0);

    // An image with a caption goes to the (fake) vision model as an image part.
    const png = Buffer.from('89504e470d0a1a0a0000000d4948445200000001', 'hex');
    await page.setInputFiles('[data-testid=try-file]', { name: 'planta.png', mimeType: 'image/png', buffer: png });
    expect(await page.inputValue('[data-testid=try-kind]')).toBe('image');
    await page.fill('[data-testid=try-text]', '¿Qué planta es esta?');
    await page.click('[data-testid=try-send]');
    await untilReply(page, '[sandbox] ¿Qué planta es esta? [1 image]');

    // A PDF: its text reaches the model.
    await page.setInputFiles('[data-testid=try-file]', {
      name: 'menu.pdf',
      mimeType: 'application/pdf',
      buffer: makePdf([pdfText]),
    });
    expect(await page.inputValue('[data-testid=try-kind]')).toBe('document');
    await page.click('[data-testid=try-send]');
    await untilReply(page, pdfText);
    await screenshot(page, SHOTS, '01-try-it-media');

    // Each went through the fake Graph API's two-step download, as in production.
    const calls = state().calls('whatsapp');
    expect(calls.filter((c) => c.kind === 'media_info' && c.status === 200)).toHaveLength(3);
    expect(calls.filter((c) => c.kind === 'media_download' && c.status === 200)).toHaveLength(3);
    expect(await wadiBubbles(page)).toHaveLength(3);
  });

  it('counts characters against the 4096 limit and keeps the newest message in view', async () => {
    await page.fill('[data-testid=try-text]', 'Hola 👋');
    // UTF-16 code units, as the platforms and the input's maxlength count them.
    expect(await page.textContent('[data-testid=try-count]')).toBe('7 / 4096 characters');
    const long = `${'una frase bastante larga para llenar la pantalla. '.repeat(60)}fin`;
    await page.fill('[data-testid=try-text]', long);
    expect(await page.textContent('[data-testid=try-count]')).toBe(`${long.length} / 4096 characters`);
    await page.click('[data-testid=try-send]');
    await untilReply(page, 'fin');
    const scroll = await page.$eval('[data-testid=chat]', (el) => ({
      top: el.scrollTop,
      height: el.scrollHeight,
      client: el.clientHeight,
    }));
    // The transcript overflows the box and the box is scrolled to its end.
    expect(scroll.height).toBeGreaterThan(scroll.client);
    expect(scroll.top + scroll.client).toBeGreaterThanOrEqual(scroll.height - 2);
  });

  it('shows a reply the platform refused once and accepted on retry exactly once', async () => {
    state().addFault({ channel: 'whatsapp', kind: 'send_text', status: 500, count: 1 });
    await page.fill('[data-testid=try-text]', 'reintento por favor');
    await page.click('[data-testid=try-send]');
    await untilReply(page, '[sandbox] reintento por favor');
    const attempts = state()
      .calls('whatsapp')
      .filter(
        (c) =>
          c.kind === 'send_text' &&
          (c.body as { text?: { body?: string } }).text?.body === '[sandbox] reintento por favor',
      );
    // The fake refused the first attempt and accepted the retry; Try it shows only the accepted one.
    expect(attempts.map((c) => c.status)).toEqual([500, 200]);
    await page.waitForTimeout(1500);
    expect((await wadiBubbles(page)).filter((b) => b.includes('reintento por favor'))).toHaveLength(1);
  });

  it('keeps the transcript across pages of the dashboard and a reload', async () => {
    const before = await wadiBubbles(page);
    expect(before).toHaveLength(5);
    await page.click('nav >> text=Overview');
    await page.waitForSelector('.tryit', { state: 'detached' });
    await page.click('nav >> text=Try it');
    await page.waitForSelector('[data-testid=bubble-wadi]');
    expect(await page.inputValue('[data-testid=try-from]')).toBe(from);
    expect(await wadiBubbles(page)).toEqual(before);
    await page.reload();
    await page.waitForSelector('[data-testid=bubble-wadi]');
    expect(await wadiBubbles(page)).toEqual(before);
    expect(await page.locator('[data-testid=bubble-media]').count()).toBe(3);
    // Another chat has its own (empty) transcript; coming back finds this one.
    await page.fill('[data-testid=try-from]', '34699000111');
    await page.waitForSelector('[data-testid=bubble-wadi]', { state: 'detached' });
    await page.fill('[data-testid=try-from]', from);
    await page.waitForSelector('[data-testid=bubble-wadi]');
    expect(await wadiBubbles(page)).toEqual(before);
  });

  it('the conversation view shows each media message with its kind, size and derived text', async () => {
    await page.click('[data-testid=open-conversation]');
    await page.waitForSelector('[data-testid=msg-media]', WAIT);
    const media = await page.locator('[data-testid=msg-media]').allTextContents();
    expect(media).toHaveLength(3);
    expect(media[0]).toContain('audio');
    expect(media[0]).toContain(`${Buffer.byteLength(transcript)} B`);
    expect(media[0]).toContain('transcribed');
    expect(media[0]).toContain(transcript);
    expect(media[1]).toContain('image');
    expect(media[1]).toContain('20 B');
    expect(media[2]).toContain('document');
    expect(media[2]).toContain('menu.pdf');
    expect(media[2]).toContain(pdfText);
    await screenshot(page, SHOTS, '02-conversation-media');
  });
});
