/**
 * PostgreSQL backups with the standard tools: `pg_dump -Fc` under an exported snapshot (so the
 * manifest's row counts describe exactly what the dump holds, even while WADI keeps writing), and
 * restores that run as ONE transaction through psql, so a failed restore changes nothing.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import pg from 'pg';
import { BackupError, BackupUnreadableError } from './errors.ts';
import { type DatabaseState, readState } from './manifest.ts';
import { createPrivateFile } from './modes.ts';
import { libpqConnection, requireToolFor, runTool, type ToolOptions } from './pg-tools.ts';
import type { ProgressFn } from './progress.ts';

/** What a finished pg_dump produced. */
export interface PgDumpResult {
  readonly state: DatabaseState;
  readonly serverVersion: string;
  readonly toolVersion: string;
}

/** Options shared by dump and restore. */
export interface PgOptions extends ToolOptions {
  readonly onProgress?: ProgressFn;
}

// WADI's schemas; anything else in the database (e.g. a managed platform's own schemas) is not ours.
const DUMP_SCHEMAS = ['public', 'drizzle'];

async function connect(url: string, name: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, application_name: name });
  try {
    await client.connect();
  } catch (err) {
    throw new BackupError('connect_failed', `cannot connect to PostgreSQL: ${(err as Error).message}`, { cause: err });
  }
  return client;
}

async function serverVersionNum(client: pg.Client): Promise<{ num: number; text: string }> {
  const { rows } = await client.query<{ n: string; v: string }>(
    `select current_setting('server_version_num') as n, current_setting('server_version') as v`,
  );
  return { num: Number(rows[0]?.n), text: String(rows[0]?.v) };
}

/**
 * Dumps the database at `url` into `target` (the caller's partial file). `name` receives the
 * state first so the caller can build the file name from the schema version before dumping.
 */
export async function dumpPostgres(
  url: string,
  target: (state: DatabaseState) => string,
  opts: PgOptions,
): Promise<PgDumpResult & { file: string }> {
  const conn = libpqConnection(url);
  const client = await connect(url, 'wadi-backup');
  try {
    const server = await serverVersionNum(client);
    const toolVersion = await requireToolFor('pg_dump', server.num, opts);
    // The snapshot stays valid while this transaction is open: pg_dump reads exactly what we counted.
    await client.query('begin isolation level repeatable read read only');
    const snap = await client.query<{ s: string }>('select pg_export_snapshot() as s');
    const state = await readState(client as never);
    const file = target(state);
    const started = performance.now();
    // Created 0600 before pg_dump opens it (with the umask's 0644 otherwise).
    await createPrivateFile(file);
    await runTool(
      'pg_dump',
      [
        '--format=custom',
        '--no-password',
        `--snapshot=${snap.rows[0]?.s}`,
        ...DUMP_SCHEMAS.map((s) => `--schema=${s}`),
        `--file=${file}`,
        `--dbname=${conn.dbname}`,
      ],
      opts,
      {
        password: conn.password,
        onTick: (elapsedMs) =>
          void stat(file)
            .then((s) => opts.onProgress?.({ phase: 'dump', bytes: s.size, elapsedMs }))
            .catch(() => {}),
      },
    );
    const size = (await stat(file)).size;
    opts.onProgress?.({ phase: 'dump', bytes: size, elapsedMs: performance.now() - started });
    await client.query('commit');
    return { state, serverVersion: server.text, toolVersion, file };
  } finally {
    await client.end().catch(() => {});
  }
}

/** DROP statements for everything WADI owns in the target (tables, views, sequences, types,
 * functions), so the restore recreates it exactly. */
async function dropStatements(client: pg.Client): Promise<string> {
  const notExtension = `not exists (select 1 from pg_depend d where d.objid = c.oid and d.deptype = 'e')`;
  const { rows } = await client.query<{ sql: string }>(
    `select format('drop %s if exists %I.%I cascade;',
        case c.relkind when 'v' then 'view' when 'm' then 'materialized view' when 'f' then 'foreign table'
                       when 'S' then 'sequence' else 'table' end, n.nspname, c.relname) as sql
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = 'public' and c.relkind in ('r', 'p', 'v', 'm', 'f', 'S') and ${notExtension}
     union all
     select format('drop type if exists %I.%I cascade;', n.nspname, t.typname)
       from pg_type t join pg_namespace n on n.oid = t.typnamespace
      where n.nspname = 'public' and t.typtype in ('e', 'd')
        and not exists (select 1 from pg_depend d where d.objid = t.oid and d.deptype = 'e')
     union all
     -- Functions (the work-queue NOTIFY triggers' functions, migration 0007); the triggers go
     -- with their tables.
     select format('drop function if exists %I.%I(%s) cascade;', n.nspname, p.proname,
                   pg_get_function_identity_arguments(p.oid))
       from pg_proc p join pg_namespace n on n.oid = p.pronamespace
      where n.nspname = 'public' and p.prokind = 'f'
        and not exists (select 1 from pg_depend d where d.objid = p.oid and d.deptype = 'e')`,
  );
  return ['drop schema if exists drizzle cascade;', ...rows.map((r) => r.sql)].join('\n');
}

/**
 * Restores `file` into the database at `url`, replacing WADI's schemas in one transaction.
 * Returns the time the restore took.
 */
export async function restorePostgres(file: string, url: string, opts: PgOptions): Promise<{ durationMs: number }> {
  const conn = libpqConnection(url);
  const client = await connect(url, 'wadi-restore');
  const work = await mkdtemp(path.join(tmpdir(), 'wadi-restore-'));
  try {
    const server = await serverVersionNum(client);
    await requireToolFor('pg_restore', server.num, opts);
    await requireToolFor('psql', server.num, opts);
    let toc: string;
    try {
      toc = (await runTool('pg_restore', ['--list', file], opts, {})).stdout;
    } catch (err) {
      if (!(err instanceof BackupError) || err.code !== 'tool_failed') throw err;
      throw new BackupUnreadableError(`${path.basename(file)} is not a readable pg_dump archive: ${err.message}`);
    }
    // The public schema already exists everywhere; creating or commenting it would fail the transaction.
    const list = toc
      .split('\n')
      .filter((l) => !/ SCHEMA - public /.test(l) && !/ COMMENT - SCHEMA public /.test(l))
      .join('\n');
    const listFile = path.join(work, 'toc.list');
    await writeFile(listFile, list);
    const drops = await dropStatements(client);
    await client.end().catch(() => {});

    const started = performance.now();
    let bytes = 0;
    const feed = new PassThrough();
    feed.write(`${drops}\n`);
    const abort = new AbortController();
    const psql = runTool(
      'psql',
      [
        '--no-psqlrc',
        '--quiet',
        '--single-transaction',
        '--set=ON_ERROR_STOP=1',
        '--file=-',
        `--dbname=${conn.dbname}`,
      ],
      opts,
      {
        password: conn.password,
        stdin: feed,
        signal: abort.signal,
        onTick: (elapsedMs) => opts.onProgress?.({ phase: 'restore', bytes, elapsedMs }),
      },
    );
    const counter = new PassThrough();
    counter.on('data', (d: Buffer) => {
      bytes += d.length;
    });
    counter.pipe(feed, { end: false });
    let restoreError: unknown;
    try {
      await runTool('pg_restore', ['--no-owner', '--no-acl', `--use-list=${listFile}`, '--file=-', file], opts, {
        stdout: counter,
      });
      counter.end();
      await new Promise((r) => counter.once('end', r));
      feed.end();
    } catch (err) {
      // psql commits at end of input: kill it first so a half-read archive rolls back.
      restoreError = err;
      abort.abort();
    }
    try {
      await psql;
    } catch (err) {
      if (!restoreError) throw err;
    }
    if (restoreError) {
      const msg = (restoreError as Error).message;
      throw new BackupUnreadableError(
        `${path.basename(file)} could not be restored (truncated or corrupted?); nothing was changed: ${msg}`,
        { cause: restoreError },
      );
    }
    const durationMs = performance.now() - started;
    // Bytes of SQL applied (the archive is compressed, so its size is no total for them).
    opts.onProgress?.({ phase: 'restore', bytes, elapsedMs: durationMs });
    return { durationMs };
  } finally {
    await client.end().catch(() => {});
    await rm(work, { recursive: true, force: true });
  }
}

/** The current state of the database at `url` (row counts and migrations). */
export async function postgresState(url: string): Promise<DatabaseState> {
  const client = await connect(url, 'wadi-backup');
  try {
    return await readState(client as never);
  } finally {
    await client.end().catch(() => {});
  }
}

/** Other WADI processes connected to the database at `url` (they would keep writing during a restore). */
export async function connectedWadis(url: string): Promise<number> {
  const client = await connect(url, 'wadi-restore');
  try {
    const { rows } = await client.query<{ n: string }>(
      `select count(*)::text as n from pg_stat_activity
        where datname = current_database() and pid <> pg_backend_pid()
          and application_name like 'wadi-%' and application_name not in ('wadi-backup', 'wadi-restore', 'wadi-verify')`,
    );
    return Number(rows[0]?.n ?? 0);
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * Creates an empty scratch database `wadi_verify_<random>` on the server of `url`, runs `fn` with
 * its URL, and drops it whatever happens.
 */
export async function withScratchDatabase<T>(url: string, fn: (scratchUrl: string) => Promise<T>): Promise<T> {
  const name = `wadi_verify_${randomBytes(6).toString('hex')}`;
  const admin = await connect(url, 'wadi-verify');
  try {
    await admin.query(`create database ${name}`);
  } catch (err) {
    await admin.end().catch(() => {});
    throw new BackupError(
      'scratch_database_failed',
      `cannot create the scratch database ${name} for the restore check (the DATABASE_URL user needs CREATEDB): ${(err as Error).message}`,
      { cause: err },
    );
  }
  const u = new URL(url);
  u.pathname = `/${name}`;
  try {
    return await fn(u.toString());
  } finally {
    await admin.query(`drop database if exists ${name} with (force)`).catch(() => {});
    await admin.end().catch(() => {});
  }
}
