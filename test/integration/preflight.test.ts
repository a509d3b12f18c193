import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KV_BACKUP_LAST_SUCCESS } from '../../src/features/backup/last-success.ts';
import type { ModuleFactory } from '../../src/platform/context.ts';
import { backupChecks } from '../../src/tools/preflight/checks/backups.ts';
import { ciChecks } from '../../src/tools/preflight/checks/ci.ts';
import { databaseChecks } from '../../src/tools/preflight/checks/database.ts';
import { envChecks } from '../../src/tools/preflight/checks/env.ts';
import { securityChecks } from '../../src/tools/preflight/checks/security.ts';
import type { CheckResult, PreflightContext, PreflightOptions } from '../../src/tools/preflight/checks/types.ts';
import { preflightConfig } from '../../src/tools/preflight/run.ts';
import { runWadi, tempDir } from '../helpers/cli.ts';
import { type TestDb, testDatabase } from '../helpers/db.ts';
import { listen } from '../helpers/servers.ts';
import { startTestWadi, TEST_ADMIN_KEY, type TestWadi } from '../helpers/wadi.ts';

const ADMIN_ORIGIN = 'https://admin.example.com';
const NOW = new Date('2026-11-28T12:00:00Z');
const PROD = {
  NODE_ENV: 'production',
  ADMIN_API_KEY: 'kQ7v-Zr2Lp9xW4mB8nT1cY6hJ3sD5fG0aE',
  CORS_ORIGINS: ADMIN_ORIGIN,
  DATABASE_URL: 'postgres://wadi:pw@db:5432/wadi',
  OPENAI_API_KEY: 'sk-live-key-abcdefghijklmnop',
  TELEGRAM_BOT_TOKEN: '123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ',
  TELEGRAM_WEBHOOK_SECRET: 'secret-token-abcdefghijkl',
  PUBLIC_URL: 'https://wadi.example.com',
  METRICS_TOKEN: 'metrics-Hq4Xz81LpVw2',
};

function ctx(
  opts: Partial<PreflightOptions> & { env: Record<string, string | undefined> },
  baseUrl = '',
): PreflightContext {
  const cwd = opts.cwd ?? tempDir('wadi-pf-');
  const { config, problems } = preflightConfig(opts.env, cwd);
  return {
    opts: { cwd, ...opts },
    config,
    configProblems: problems,
    baseUrl,
    now: () => NOW,
    timeoutMs: 3000,
    database: opts.database,
  };
}
const get = (rs: CheckResult[], item: string) => rs.find((r) => r.item === item);

/** Stand-in for the admin API (built elsewhere): refuses requests without the key. */
const adminStandIn: ModuleFactory = () => ({
  name: 'admin-stand-in',
  plugins: [
    async (app) => {
      app.get('/admin/health', async (req, reply) => {
        if (req.headers['x-admin-key'] !== TEST_ADMIN_KEY)
          return reply.code(401).send({ error: { code: 'unauthorized' } });
        return { status: 'pass' };
      });
    },
  ],
});

describe('preflight against a real WADI and real databases', () => {
  let t: TestDb;
  let w: TestWadi;
  beforeAll(async () => {
    t = await testDatabase();
    w = await startTestWadi(t.database, {
      env: { CORS_ORIGINS: ADMIN_ORIGIN },
      features: ['security'],
      extraModules: [adminStandIn],
    });
  });
  afterAll(async () => {
    await w?.stop();
    await t?.drop();
  });

  it('Security passes on a hardened WADI', async () => {
    const rs = await securityChecks(ctx({ env: { CORS_ORIGINS: ADMIN_ORIGIN } }, w.url));
    expect(rs.map((r) => [r.item, r.status])).toEqual([
      ['security headers', 'pass'],
      ['x-powered-by', 'pass'],
      ['admin auth', 'pass'],
      ['CORS unknown origin', 'pass'],
      ['CORS configured origin', 'pass'],
    ]);
  });

  it('Security fails a server that reflects origins, advertises itself and serves /admin without a key', async () => {
    const bad = await listen((req, res) => {
      res.setHeader('x-powered-by', 'Express');
      if (req.headers.origin) res.setHeader('access-control-allow-origin', req.headers.origin);
      res.end('{}');
    });
    try {
      const rs = await securityChecks(ctx({ env: { CORS_ORIGINS: ADMIN_ORIGIN } }, bad.url));
      expect(rs.map((r) => [r.item, r.status])).toEqual([
        ['security headers', 'fail'],
        ['x-powered-by', 'fail'],
        ['admin auth', 'fail'],
        ['CORS unknown origin', 'fail'],
        ['CORS configured origin', 'pass'],
      ]);
      expect(get(rs, 'admin auth')?.detail).toContain('answered 200 without a key');
    } finally {
      await bad.close();
    }
  });

  it('Security reports an unreachable deployment as one clear failure', async () => {
    const rs = await securityChecks(ctx({ env: {} }, 'http://127.0.0.1:1'));
    expect(rs).toHaveLength(1);
    expect(rs[0]).toMatchObject({ item: 'reachable', status: 'fail' });
    expect(rs[0]?.detail).toContain('ECONNREFUSED');
  });

  it('Database passes when migrations are applied and fails when some are pending', async () => {
    const ok = await databaseChecks(ctx({ env: {}, database: t.database }));
    expect(get(ok, 'reachable')?.status).toBe('pass');
    expect(get(ok, 'migrations')?.status).toBe('pass');
    const empty = await testDatabase(undefined, { migrate: false });
    try {
      const rs = await databaseChecks(ctx({ env: {}, database: empty.database }));
      expect(get(rs, 'migrations')?.status).toBe('fail');
      expect(get(rs, 'migrations')?.detail).toMatch(/pending/);
      expect(get(rs, 'migrations')?.fix).toContain('wadi migrate');
    } finally {
      await empty.drop();
    }
  }, 90_000);

  it('Database fails an unreachable PostgreSQL with the reason', async () => {
    const rs = await databaseChecks(ctx({ env: { DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' } }));
    expect(rs[0]).toMatchObject({ item: 'reachable', status: 'fail' });
  });

  it('Backups need a schedule and a recent success recorded by the backup feature', async () => {
    const schedule = { BACKUP_SCHEDULE: '0 3 * * *' };
    await t.database.query('delete from kv where key = $1', [KV_BACKUP_LAST_SUCCESS]);
    let rs = await backupChecks(ctx({ env: {}, database: t.database }));
    expect(get(rs, 'schedule')?.status).toBe('fail');
    expect(get(rs, 'last backup')?.detail).toBe('no successful backup recorded');

    const record = (at: Date) =>
      t.database.query(
        `insert into kv (key, value) values ($1, $2::jsonb)
         on conflict (key) do update set value = excluded.value`,
        [KV_BACKUP_LAST_SUCCESS, JSON.stringify({ at: at.toISOString(), file: 'wadi-2026.dump' })],
      );
    await record(new Date(NOW.getTime() - 5 * 3600_000));
    rs = await backupChecks(ctx({ env: schedule, database: t.database }));
    expect(rs.map((r) => r.status)).toEqual(['pass', 'pass']);
    expect(get(rs, 'last backup')?.detail).toContain('wadi-2026.dump');

    await record(new Date(NOW.getTime() - 3 * 86_400_000));
    rs = await backupChecks(ctx({ env: schedule, database: t.database }));
    expect(get(rs, 'last backup')?.status).toBe('fail');
    expect(get(rs, 'last backup')?.detail).toContain('72.0 h ago');

    rs = await backupChecks(ctx({ env: { BACKUP_SCHEDULE: 'every night' }, database: t.database }));
    expect(get(rs, 'schedule')?.status).toBe('fail');
  });
});

describe('preflight Env vars reuse the production rules', () => {
  it('explains what a development setup fails and why', async () => {
    const rs = await envChecks(ctx({ env: {} }));
    expect(get(rs, 'NODE_ENV')?.detail).toContain('not production');
    expect(get(rs, 'sandbox')?.detail).toMatch(/^sandbox is on/);
    expect(get(rs, 'ADMIN_API_KEY')?.status).toBe('fail');
    expect(get(rs, 'CORS_ORIGINS')?.status).toBe('fail');
  });

  it('does not claim the sandbox is on when a production config fails for other reasons', async () => {
    const rs = await envChecks(ctx({ env: { ...PROD, TELEGRAM_BOT_TOKEN: '', TELEGRAM_WEBHOOK_SECRET: '' } }));
    expect(get(rs, 'sandbox')).toBeUndefined();
    expect(get(rs, 'WHATSAPP_ACCESS_TOKEN')?.detail).toContain('no channel configured');
  });

  it('passes a complete production environment', async () => {
    const rs = await envChecks(ctx({ env: PROD }));
    expect(rs.every((r) => r.status === 'pass')).toBe(true);
  });

  it('fails a .env file in the working directory and weak secrets', async () => {
    const cwd = tempDir('wadi-pf-env-');
    writeFileSync(path.join(cwd, '.env'), 'ADMIN_API_KEY=x\n');
    const rs = await envChecks(
      ctx({ env: { ...PROD, ADMIN_API_KEY: 'weak-key-7x', TELEGRAM_WEBHOOK_SECRET: 'abc' }, cwd }),
    );
    expect(get(rs, '.env')?.status).toBe('fail');
    expect(get(rs, '.env')?.fix).toContain('delete the .env file');
    expect(get(rs, 'ADMIN_API_KEY')?.detail).toContain('at least 32 characters');
    expect(get(rs, 'TELEGRAM_WEBHOOK_SECRET')?.status).toBe('fail');
    expect(JSON.stringify(rs)).not.toContain('weak-key-7x');
  });
});

describe('preflight CI/CD', () => {
  it('says the CI server cannot be seen offline unless --ci is given', async () => {
    const rs = await ciChecks(ctx({ env: {} }), () => {});
    expect(rs).toEqual([
      expect.objectContaining({ status: 'warn', detail: expect.stringContaining('cannot be seen offline') }),
    ]);
  });

  it('with --ci runs lint, typecheck and unit tests through npm scripts and reports each', async () => {
    const cwd = tempDir('wadi-pf-ci-');
    mkdirSync(path.join(cwd, 'src'));
    writeFileSync(
      path.join(cwd, 'package.json'),
      JSON.stringify({
        name: 'fake',
        scripts: {
          lint: 'node -e "0"',
          typecheck: `node -e "console.error('src/a.ts(1,1): error TS2322: broken'); process.exit(2)"`,
          test: 'node -e "0"',
        },
      }),
    );
    const notes: string[] = [];
    const rs = await ciChecks(ctx({ env: {}, cwd, ci: true }), (l) => notes.push(l));
    expect(rs.map((r) => [r.item, r.status])).toEqual([
      ['lint', 'pass'],
      ['typecheck', 'fail'],
      ['unit tests', 'pass'],
    ]);
    expect(get(rs, 'typecheck')?.detail).toContain('error TS2322: broken');
    expect(notes).toEqual(['running npm run lint', 'running npm run typecheck', 'running npm test -- src']);
  });
});

describe('wadi preflight (the command)', () => {
  let t: TestDb;
  let w: TestWadi;
  beforeAll(async () => {
    t = await testDatabase();
    w = await startTestWadi(t.database, { features: ['security'] });
  });
  afterAll(async () => {
    await w?.stop();
    await t?.drop();
  });

  it('explains in JSON why a development setup is not ready, exiting 1', async () => {
    // On PGlite runs, an unreachable server keeps the CLI from initialising an embedded database.
    const env = { DATABASE_URL: t.url ?? 'postgres://nobody@127.0.0.1:1/none' };
    const res = await runWadi(['preflight', '--url', w.url, '--json'], { env, timeoutMs: 60_000 });
    expect(res.code).toBe(1);
    const out = JSON.parse(res.stdout) as { summary: { fail: number }; results: CheckResult[] };
    expect(out.summary.fail).toBeGreaterThan(0);
    const sections = new Set(out.results.map((r) => r.section));
    expect([...sections]).toEqual([
      'Env vars',
      'Security',
      'CI/CD',
      'Database',
      'Domain',
      'Webhooks',
      'Observability',
      'Backups',
    ]);
    expect(get(out.results, 'NODE_ENV')?.detail).toContain('not production');
    expect(get(out.results, 'sandbox')?.detail).toMatch(/^sandbox is on/);
    expect(get(out.results, 'CI server')?.status).toBe('warn');
    expect(res.stderr).toContain('[1/8] Env vars');
    expect(res.stderr).toContain('[8/8] Backups');
    const bad = await runWadi(['preflight', '--url', 'localhost:3000']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('invalid --url "localhost:3000"');
  }, 90_000);

  it('prints a table with a fix under each problem', async () => {
    // On PGlite runs, an unreachable server keeps the CLI from initialising an embedded database.
    const env = { DATABASE_URL: t.url ?? 'postgres://nobody@127.0.0.1:1/none' };
    const res = await runWadi(['preflight', '--url', w.url], { env, timeoutMs: 60_000 });
    expect(res.code).toBe(1);
    expect(res.stdout).toContain(`WADI go-live checklist for ${w.url}`);
    expect(res.stdout).toContain('✗ FAIL  NODE_ENV');
    expect(res.stdout).toContain('fix: set NODE_ENV=production');
    expect(res.stdout).toContain('✓ pass  x-powered-by');
    expect(res.stdout).toMatch(/\d+ passed, \d+ warning\(s\), \d+ failed: not ready to go live/);
  }, 90_000);
});
