/** Database: reachable, every migration applied, none pending. Opens the database for later sections. */
import { openDatabase } from '../../../db/client.ts';
import { migrationStatus } from '../../../db/migrate.ts';
import { request } from './http.ts';
import type { CheckResult, PreflightContext } from './types.ts';
import { section } from './types.ts';

const s = section('Database');

/** The Database section; leaves `ctx.database` open when reachable (the caller closes it). */
export async function databaseChecks(ctx: PreflightContext): Promise<CheckResult[]> {
  const config = ctx.config;
  if (!config) return [s.fail('reachable', 'the configuration does not load', 'fix the Env vars items first')];
  if (!ctx.database) {
    try {
      ctx.database = await openDatabase({ url: config.database.url, dataDir: config.database.dataDir, poolSize: 1 });
    } catch (err) {
      if (config.database.embedded) return embeddedInUse(ctx, (err as Error).message);
      return [
        s.fail(
          'reachable',
          `cannot open DATABASE_URL: ${(err as Error).message}`,
          'check DATABASE_URL and that PostgreSQL is up',
        ),
      ];
    }
  }
  const out: CheckResult[] = [];
  try {
    const ms = await ctx.database.ping(ctx.timeoutMs);
    out.push(
      s.pass(
        'reachable',
        `${ctx.database.kind === 'pglite' ? 'embedded PGlite' : 'PostgreSQL'} answered in ${Math.round(ms)} ms`,
      ),
    );
  } catch (err) {
    return [s.fail('reachable', `no answer: ${(err as Error).message}`, 'check DATABASE_URL, network and credentials')];
  }
  if (ctx.database.kind === 'pglite') {
    out.push(
      s.fail(
        'engine',
        'embedded PGlite: one process, no replicas, no pg_dump',
        'set DATABASE_URL to a PostgreSQL ≥ 15 server',
      ),
    );
  }
  try {
    const states = await migrationStatus(ctx.database);
    const pending = states.filter((m) => !m.applied);
    out.push(
      pending.length === 0
        ? s.pass('migrations', `all ${states.length} applied, none pending`)
        : s.fail(
            'migrations',
            `${pending.length} of ${states.length} pending: ${pending.map((m) => m.name).join(', ')}`,
            'run `wadi migrate` (or start WADI with WADI_MIGRATE_ON_START=true)',
          ),
    );
  } catch (err) {
    out.push(
      s.fail(
        'migrations',
        `cannot read them: ${(err as Error).message}`,
        'check the database user can read the drizzle schema',
      ),
    );
  }
  return out;
}

/** PGlite admits one process: when the running WADI holds it, ask that WADI's readiness instead. */
async function embeddedInUse(ctx: PreflightContext, reason: string): Promise<CheckResult[]> {
  const out = [
    s.fail('engine', `embedded PGlite (${reason})`, 'set DATABASE_URL to a PostgreSQL ≥ 15 server for production'),
  ];
  try {
    const res = await request(`${ctx.baseUrl}/health/ready`, { timeoutMs: ctx.timeoutMs, ca: ctx.opts.ca });
    const report = JSON.parse(res.body) as { checks?: Record<string, { status: string; output?: string }[]> };
    const db = report.checks?.['database:responseTime']?.[0];
    const mig = report.checks?.['database:migrations']?.[0];
    out.push(
      db?.status === 'pass'
        ? s.pass('reachable', 'the running WADI reports its database reachable (/health/ready)')
        : s.fail(
            'reachable',
            `the running WADI reports its database as ${db?.status ?? 'unknown'}`,
            'check the WADI logs',
          ),
    );
    out.push(
      mig?.status === 'pass'
        ? s.pass('migrations', 'the running WADI reports none pending (/health/ready)')
        : s.fail(
            'migrations',
            `the running WADI reports ${mig?.output ?? mig?.status ?? 'unknown'}`,
            'run `wadi migrate`',
          ),
    );
  } catch (err) {
    out.push(
      s.fail('reachable', `cannot ask the running WADI: ${(err as Error).message}`, 'start WADI, or pass --url'),
    );
  }
  return out;
}
