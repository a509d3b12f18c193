/** Production refusals of issue 14: public, guessable or clear-text settings, one line each. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, SANDBOX_CREDENTIALS, weakSecret } from './config.ts';

const PROD_OK = {
  NODE_ENV: 'production',
  ADMIN_API_KEY: 'kQ7v-Zr2Lp9xW4mB8nT1cY6hJ3sD5fG0aE',
  CORS_ORIGINS: 'https://admin.example.com',
  DATABASE_URL: 'postgres://wadi:pw@db:5432/wadi',
  OPENAI_API_KEY: 'sk-live-key-abcdefghijklmnop',
  TELEGRAM_BOT_TOKEN: '123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ',
  TELEGRAM_WEBHOOK_SECRET: 'secret-token-abcdefghijkl',
  PUBLIC_URL: 'https://wadi.example.com',
  METRICS_TOKEN: 'metrics-Hq4Xz81LpVw2',
};
const WA = {
  WHATSAPP_ACCESS_TOKEN: 'EAAG-real-access-token-9f8e7d6c5b4a',
  WHATSAPP_APP_SECRET: '3f9a1c7e5b2d8f4a6c0e9b1d7f3a5c8e',
  WHATSAPP_VERIFY_TOKEN: 'verify-Rk29-xPq81-Lm4Z',
  WHATSAPP_PHONE_NUMBER_ID: '109876543210987',
};

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env, { cwd: mkdtempSync(path.join(tmpdir(), 'wadi-hard-')), persistGeneratedKey: false });
    return [];
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.problems.map((p) => `${p.variable}: ${p.message}`);
  }
}

describe('production refuses', () => {
  it('accepts a strong, complete environment (with WhatsApp too)', () => {
    expect(problems(PROD_OK)).toEqual([]);
    expect(problems({ ...PROD_OK, ...WA })).toEqual([]);
  });

  it.each([
    ['WHATSAPP_APP_SECRET', { ...WA, WHATSAPP_APP_SECRET: SANDBOX_CREDENTIALS.whatsappAppSecret }],
    ['WHATSAPP_VERIFY_TOKEN', { ...WA, WHATSAPP_VERIFY_TOKEN: SANDBOX_CREDENTIALS.whatsappVerifyToken }],
    ['WHATSAPP_ACCESS_TOKEN', { ...WA, WHATSAPP_ACCESS_TOKEN: SANDBOX_CREDENTIALS.whatsappAccessToken }],
    ['WHATSAPP_PHONE_NUMBER_ID', { ...WA, WHATSAPP_PHONE_NUMBER_ID: SANDBOX_CREDENTIALS.whatsappPhoneNumberId }],
    ['TELEGRAM_BOT_TOKEN', { TELEGRAM_BOT_TOKEN: SANDBOX_CREDENTIALS.telegramBotToken }],
    ['TELEGRAM_WEBHOOK_SECRET', { TELEGRAM_WEBHOOK_SECRET: SANDBOX_CREDENTIALS.telegramWebhookSecret }],
  ])("the sandbox's public %s", (variable, override) => {
    const p = problems({ ...PROD_OK, ...override });
    expect(p.filter((l) => l.startsWith(`${variable}: `))).toEqual([
      `${variable}: is the sandbox's built-in value (public in WADI's source); set your own`,
    ]);
  });

  it.each([
    ['ADMIN_API_KEY', 'a'.repeat(32), 'fewer than 10 distinct characters'],
    ['ADMIN_API_KEY', 'abcd'.repeat(10), 'fewer than 10 distinct characters'],
    ['ADMIN_API_KEY', '0123456789abcdef'.repeat(2), 'short pattern repeated'],
    ['TELEGRAM_WEBHOOK_SECRET', 'xyzxyzxyzxyzxyzxyz', 'fewer than 10 distinct'],
    ['METRICS_TOKEN', 'abcdefghijkabcdefghijk', 'short pattern repeated'],
  ])('a weak %s (%s)', (variable, value, why) => {
    const p = problems({ ...PROD_OK, [variable]: value });
    const mine = p.filter((l) => l.startsWith(`${variable}: `));
    expect(mine).toHaveLength(1);
    expect(mine[0]).toContain(why);
  });

  it('names which of several admin keys is weak', () => {
    expect(problems({ ...PROD_OK, ADMIN_API_KEY: `${PROD_OK.ADMIN_API_KEY},${'z'.repeat(40)}` })).toEqual([
      'ADMIN_API_KEY: key 2 has fewer than 10 distinct characters: generate one (openssl rand -hex 32)',
    ]);
  });

  it.each([
    ['WHATSAPP_GRAPH_URL', 'http://graph.facebook.com'],
    ['TELEGRAM_API_URL', 'http://api.telegram.org'],
    ['OPENAI_BASE_URL', 'http://llm.internal:8000/v1'],
  ])('an http:// %s (tokens in clear)', (variable, url) => {
    expect(problems({ ...PROD_OK, ...WA, [variable]: url })).toEqual([
      `${variable}: must be https:// in production (tokens would travel in clear); http:// only to loopback`,
    ]);
  });

  it('allows http:// to a loopback LLM server (or API sidecar)', () => {
    for (const url of ['http://127.0.0.1:11434/v1', 'http://localhost:8000/v1', 'http://[::1]:8000/v1']) {
      expect(problems({ ...PROD_OK, OPENAI_BASE_URL: url })).toEqual([]);
    }
  });

  it('an http:// CORS origin, a one-second HSTS, TRUST_PROXY=true, and TRUST_PROXY without PUBLIC_URL', () => {
    expect(problems({ ...PROD_OK, CORS_ORIGINS: 'http://admin.example.com' })).toEqual([
      'CORS_ORIGINS: "http://admin.example.com" is http://: the admin key would travel in clear; use https://',
    ]);
    expect(problems({ ...PROD_OK, HSTS_MAX_AGE: '1' })).toEqual([
      'HSTS_MAX_AGE: too short for production (at least 86400, one day; 31536000 advised)',
    ]);
    expect(problems({ ...PROD_OK, TRUST_PROXY: 'true' })[0]).toMatch(/^TRUST_PROXY: true believes any X-Forwarded-For/);
    expect(problems({ ...PROD_OK, TRUST_PROXY: '1' })).toEqual([]);
    expect(problems({ ...PROD_OK, TRUST_PROXY: '1', PUBLIC_URL: '', TELEGRAM_MODE: 'polling' })).toEqual([
      'PUBLIC_URL: required with TRUST_PROXY: https redirects go to PUBLIC_URL, never to a host a request names',
    ]);
  });

  it('/metrics without METRICS_TOKEN', () => {
    expect(problems({ ...PROD_OK, METRICS_TOKEN: '' })).toEqual([
      'METRICS_TOKEN: required in production: /metrics would be open to anyone who can reach WADI',
    ]);
  });

  it('none of this in development', () => {
    const dev = { ...PROD_OK, NODE_ENV: 'development', ADMIN_API_KEY: 'a'.repeat(32), METRICS_TOKEN: '' };
    expect(problems({ ...dev, TRUST_PROXY: 'true', HSTS_MAX_AGE: '1' })).toEqual([]);
  });
});

describe('weakSecret', () => {
  it('passes random-looking secrets', () => {
    for (const s of [
      '3f9a1c7e5b2d8f4a6c0e9b1d7f3a5c8e',
      'kQ7v-Zr2Lp9xW4mB8nT1cY6hJ3sD5fG0aE',
      'verify-Rk29-xPq81-Lm4Z',
    ]) {
      expect(weakSecret(s)).toBeUndefined();
    }
  });
});
