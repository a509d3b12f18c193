import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../config/config.ts';

const problems = (env: Record<string, string>) => {
  try {
    loadConfig(env, { cwd: mkdtempSync(path.join(tmpdir(), 'wadi-sec-')), persistGeneratedKey: false });
    return '';
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.problems.map((p) => `${p.variable}: ${p.message}`).join('\n');
  }
};

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

describe('security settings fail closed in production', () => {
  it('accepts the defaults', () => {
    expect(problems(PROD_OK)).toBe('');
  });

  it('refuses turning HSTS off', () => {
    expect(problems({ ...PROD_OK, HSTS_MAX_AGE: '0' })).toContain('HSTS_MAX_AGE: HSTS cannot be turned off');
    expect(problems({ ...PROD_OK, NODE_ENV: 'development', HSTS_MAX_AGE: '0' })).toBe('');
  });

  it('refuses turning every load-shedding limit off', () => {
    const off = { SHED_MAX_EVENT_LOOP_DELAY_MS: '0', SHED_MAX_HEAP_PERCENT: '0', SHED_MAX_RSS_MB: '0' };
    expect(problems({ ...PROD_OK, ...off })).toContain(
      'SHED_MAX_EVENT_LOOP_DELAY_MS: load shedding cannot be turned off',
    );
    expect(problems({ ...PROD_OK, ...off, SHED_MAX_RSS_MB: '900' })).toBe('');
  });

  it('refuses HSTS preload with a max-age the preload list rejects, in any mode', () => {
    const p = problems({ ...PROD_OK, NODE_ENV: 'development', HSTS_PRELOAD: 'true', HSTS_MAX_AGE: '86400' });
    expect(p).toContain('HSTS_PRELOAD: preload needs HSTS_MAX_AGE of at least 31536000');
  });

  it('rejects malformed values with the variable named', () => {
    expect(problems({ ...PROD_OK, SHED_MAX_HEAP_PERCENT: '150' })).toContain('SHED_MAX_HEAP_PERCENT');
    expect(problems({ ...PROD_OK, HSTS_PRELOAD: 'maybe' })).toContain('HSTS_PRELOAD');
  });
});
