/**
 * Headless Debian Chromium driven by playwright-core, for the dashboard's browser tests.
 * CHROMIUM_PATH (default /usr/bin/chromium); missing Chromium skips the tests unless
 * WADI_TEST_REQUIRE_SERVICES=1, which fails them instead.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';

/** The Chromium binary, or undefined when there is none (throws when services are required). */
export function chromiumPath(): string | undefined {
  const p = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (existsSync(p)) return p;
  if (process.env.WADI_TEST_REQUIRE_SERVICES === '1') {
    throw new Error(`WADI_TEST_REQUIRE_SERVICES=1 but Chromium is not at ${p} (set CHROMIUM_PATH)`);
  }
  return undefined;
}

/** A browser with a fresh profile; `close()` removes the profile. */
export interface TestBrowser {
  readonly context: BrowserContext;
  newPage(): Promise<Page>;
  close(): Promise<void>;
}

/** Launches Chromium headless with a fresh user-data-dir. */
export async function launchBrowser(executablePath: string): Promise<TestBrowser> {
  const profile = mkdtempSync(path.join(tmpdir(), 'wadi-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
    viewport: { width: 1280, height: 860 },
  });
  return {
    context,
    newPage: () => context.newPage(),
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Saves a full-page screenshot as a test artifact under test-results/<folder>/. */
export async function screenshot(page: Page, folder: string, name: string): Promise<void> {
  const dir = path.join(process.cwd(), 'test-results', folder);
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: path.join(dir, `${name}.png`), fullPage: true });
}
