import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.ts';
import { redactedEnv } from './redact.ts';

const dir = () => mkdtempSync(path.join(tmpdir(), 'wadi-cfg-'));
const problems = (env: Record<string, string>, cwd = dir()) => {
  try {
    loadConfig(env, { cwd, persistGeneratedKey: false });
    return [];
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.problems.map((p) => `${p.variable}: ${p.message}`);
  }
};

const STRONG = 'kQ7v-Zr2Lp9xW4mB8nT1cY6hJ3sD5fG0aE';
const PROD_OK = {
  NODE_ENV: 'production',
  ADMIN_API_KEY: STRONG,
  CORS_ORIGINS: 'https://admin.example.com',
  DATABASE_URL: 'postgres://wadi:pw@db:5432/wadi',
  OPENAI_API_KEY: 'sk-live-key-abcdefghijklmnop',
  TELEGRAM_BOT_TOKEN: '123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ',
  TELEGRAM_WEBHOOK_SECRET: 'secret-token-abcdefghijkl',
  PUBLIC_URL: 'https://wadi.example.com',
  METRICS_TOKEN: 'metrics-Hq4Xz81LpVw2',
};

describe('production fails closed', () => {
  it('accepts a complete production environment', () => {
    expect(problems(PROD_OK)).toEqual([]);
    const cfg = loadConfig(PROD_OK, { cwd: dir() });
    expect(cfg.sandbox).toBe(false);
    expect(cfg.logFormat).toBe('json');
    expect(cfg.telegram?.mode).toBe('webhook');
  });

  it('lists every problem of an empty production environment at once', () => {
    const p = problems({ NODE_ENV: 'production' });
    expect(p.some((l) => l.startsWith('ADMIN_API_KEY: required'))).toBe(true);
    expect(p.some((l) => l.startsWith('CORS_ORIGINS: required'))).toBe(true);
    expect(p.some((l) => l.startsWith('DATABASE_URL'))).toBe(true);
    expect(p.some((l) => l.startsWith('OPENAI_API_KEY'))).toBe(true);
    expect(p.some((l) => l.includes('no channel configured'))).toBe(true);
  });

  it.each([
    ['a short admin key', { ADMIN_API_KEY: 'short' }, 'ADMIN_API_KEY: every key must be at least 32'],
    ['one short key among several', { ADMIN_API_KEY: `${STRONG},tooshort` }, 'ADMIN_API_KEY: every key'],
    ['CORS *', { CORS_ORIGINS: '*' }, 'CORS_ORIGINS: "*" is not allowed'],
    ['CORS empty', { CORS_ORIGINS: '' }, 'CORS_ORIGINS: required'],
    ['a CORS path instead of an origin', { CORS_ORIGINS: 'https://a.com/admin' }, 'is not an exact origin'],
    ['the sandbox on', { WADI_SANDBOX: 'true' }, 'WADI_SANDBOX: the sandbox cannot run in production'],
    ['no database', { DATABASE_URL: '' }, 'DATABASE_URL: required in production'],
    ['http public url', { PUBLIC_URL: 'http://wadi.example.com' }, 'PUBLIC_URL: must be an https'],
    ['a weak webhook secret', { TELEGRAM_WEBHOOK_SECRET: 'abc' }, 'TELEGRAM_WEBHOOK_SECRET: too short'],
  ])('refuses %s', (_name, override, expected) => {
    const p = problems({ ...PROD_OK, ...override });
    expect(p.join('\n')).toContain(expected);
  });

  it('refuses a .env file in the working directory', () => {
    const cwd = dir();
    writeFileSync(path.join(cwd, '.env'), 'PORT=1\n');
    expect(problems(PROD_OK, cwd).join('\n')).toContain('.env: a .env file is present');
  });

  it('refuses a half-configured WhatsApp channel, naming what is missing', () => {
    const p = problems({ ...PROD_OK, WHATSAPP_ACCESS_TOKEN: 'EAAG-token-abcdefghijklmnop' });
    expect(p).toContain(
      'WHATSAPP_APP_SECRET: WhatsApp is half-configured: WHATSAPP_ACCESS_TOKEN set but WHATSAPP_APP_SECRET missing',
    );
    expect(p.some((l) => l.startsWith('WHATSAPP_PHONE_NUMBER_ID'))).toBe(true);
  });
});

describe('development defaults', () => {
  it('runs the sandbox with no credentials and generates an admin key', () => {
    const cfg = loadConfig({}, { cwd: dir(), persistGeneratedKey: false });
    expect(cfg.sandbox).toBe(true);
    expect(cfg.database.embedded).toBe(true);
    expect(cfg.whatsapp?.graphUrl).toBeUndefined();
    expect(cfg.telegram?.mode).toBe('polling');
    expect(cfg.llm.kind).toBe('offline');
    expect(cfg.admin.generatedKey).toBe(true);
    expect(cfg.admin.keys[0].length).toBeGreaterThanOrEqual(32);
  });

  it('keeps the generated admin key across restarts', () => {
    const cwd = dir();
    const a = loadConfig({}, { cwd });
    const b = loadConfig({}, { cwd });
    expect(a.admin.keys[0]).toBe(b.admin.keys[0]);
  });

  it('turns the sandbox off when real credentials are given', () => {
    const cfg = loadConfig(
      { TELEGRAM_BOT_TOKEN: '123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ', TELEGRAM_MODE: 'polling' },
      { cwd: dir(), persistGeneratedKey: false },
    );
    expect(cfg.sandbox).toBe(false);
    expect(cfg.whatsapp).toBeUndefined();
    expect(cfg.telegram?.apiUrl).toBe('https://api.telegram.org');
  });

  it('rejects malformed values with the variable named', () => {
    expect(problems({ PORT: 'eighty' }).join()).toContain('PORT');
    expect(problems({ WADI_SANDBOX: 'maybe' }).join()).toContain('WADI_SANDBOX');
    expect(problems({ TELEGRAM_WEBHOOK_SECRET: 'has spaces in it' }).join()).toContain('TELEGRAM_WEBHOOK_SECRET');
    expect(problems({ LOG_LEVEL: 'loud' }).join()).toContain('LOG_LEVEL');
  });

  it('is frozen after load', () => {
    const cfg = loadConfig({}, { cwd: dir(), persistGeneratedKey: false });
    expect(() => {
      (cfg.env as { PORT: number }).PORT = 1;
    }).toThrow();
  });
});

describe('redaction', () => {
  it('never shows a secret value in the effective environment', () => {
    const cfg = loadConfig(PROD_OK, { cwd: dir() });
    const shown = JSON.stringify(redactedEnv(cfg));
    for (const secret of [
      STRONG,
      PROD_OK.OPENAI_API_KEY,
      PROD_OK.TELEGRAM_BOT_TOKEN,
      PROD_OK.TELEGRAM_WEBHOOK_SECRET,
      ':pw@',
    ]) {
      expect(shown).not.toContain(secret);
    }
    expect(shown).toContain('https://admin.example.com');
    expect(cfg.secrets).toContain(STRONG);
  });
});
