/**
 * Backup, verify and restore, whatever the database: the orchestration around the PostgreSQL and
 * PGlite adapters. Every dump gets a `.sha256`, a manifest (row counts per table, migrations) and
 * the manifest's own `.sha256`; the dump is renamed into place last, so a dump file that exists
 * always has its sidecars.
 */
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import type { Database, Queryable } from '../../db/client.ts';
import { checkChecksum, writeChecksum } from './checksum.ts';
import { BackupError, RestoreRefusedError, VerifyMismatchError } from './errors.ts';
import { recordBackupSuccess } from './last-success.ts';
import {
  type BackupManifest,
  compareState,
  type DatabaseState,
  nonEmptyTables,
  readManifest,
  readState,
  schemaVersion,
  writeManifest,
} from './manifest.ts';
import { PRIVATE_DIR, PRIVATE_FILE } from './modes.ts';
import { type BackupKind, backupFileName, checksumPath, manifestPath } from './naming.ts';
import type { ToolOptions } from './pg-tools.ts';
import {
  dumpPglite,
  hasPgliteData,
  lockDataDir,
  openPgliteDir,
  pgliteDumpState,
  pgliteOf,
  restorePgliteDir,
} from './pglite.ts';
import { connectedWadis, dumpPostgres, postgresState, restorePostgres, withScratchDatabase } from './postgres.ts';
import type { ProgressFn } from './progress.ts';

/** What to back up: PostgreSQL by URL, the live embedded database of this process, or an idle data dir. */
export type BackupSource =
  | { readonly kind: 'postgres'; readonly url: string }
  | { readonly kind: 'pglite-live'; readonly database: Database }
  | { readonly kind: 'pglite-dir'; readonly dataDir: string };

/** Where and how. */
export interface BackupOptions extends ToolOptions {
  readonly dir: string;
  readonly now?: () => Date;
  readonly onProgress?: ProgressFn;
  /** Record the success in kv (`KV_BACKUP_LAST_SUCCESS`) for the BackupStale alert (default true). */
  readonly record?: boolean;
}

/** A finished backup. */
export interface BackupResult {
  readonly file: string;
  readonly manifestFile: string;
  readonly manifest: BackupManifest;
}

/** Takes a backup into `opts.dir`; returns the dump's path and its manifest. */
export async function createBackup(source: BackupSource, opts: BackupOptions): Promise<BackupResult> {
  const dir = path.resolve(opts.dir);
  // A dump holds every conversation: the folder is the owner's only (0700), as is every file (0600).
  await mkdir(dir, { recursive: true, mode: PRIVATE_DIR });
  const at = (opts.now ?? (() => new Date()))();
  const kind: BackupKind = source.kind === 'postgres' ? 'postgres' : 'pglite';
  const started = performance.now();
  let partial = '';
  const partialFor = (state: DatabaseState) => {
    partial = path.join(dir, `${backupFileName(kind, at, schemaVersion(state))}.partial`);
    return partial;
  };
  try {
    if (source.kind === 'postgres') {
      const r = await dumpPostgres(source.url, partialFor, opts);
      const result = await finish(kind, partial, at, r.state, started, {
        serverVersion: r.serverVersion,
        toolVersion: r.toolVersion,
      });
      if (opts.record ?? true) {
        const { default: pg } = await import('pg');
        const c = new pg.Client({ connectionString: source.url, application_name: 'wadi-backup' });
        await c.connect();
        try {
          await recordBackupSuccess(c as never, at, result.file);
        } finally {
          await c.end().catch(() => {});
        }
      }
      return result;
    }
    if (source.kind === 'pglite-live') {
      const client = pgliteOf(source.database);
      const live = await readState(source.database);
      await dumpPglite(client, partialFor(live), opts.onProgress);
      // Other queries may run between counting and dumping in a live process: count the dump itself.
      const { state } = await pgliteDumpState(partial);
      const result = await finish(kind, partial, at, state, started, { serverVersion: await pgVersion(client) });
      if (opts.record ?? true) await recordBackupSuccess(source.database, at, result.file);
      return result;
    }
    const dataDir = path.resolve(source.dataDir);
    await mkdir(dataDir, { recursive: true });
    const lock = lockDataDir(dataDir, 'back up the embedded database');
    try {
      const client = await openPgliteDir(dataDir);
      try {
        // This process holds the lock: nothing else writes, so live counts describe the dump.
        const state = await readState(client as unknown as Queryable);
        await dumpPglite(client, partialFor(state), opts.onProgress);
        const result = await finish(kind, partial, at, state, started, { serverVersion: await pgVersion(client) });
        if (opts.record ?? true) await recordBackupSuccess(client as unknown as Queryable, at, result.file);
        return result;
      } finally {
        await client.close();
      }
    } finally {
      lock.release();
    }
  } catch (err) {
    if (partial) await rm(partial, { force: true });
    throw err;
  }
}

async function pgVersion(client: PGlite): Promise<string> {
  const { rows } = await client.query<{ v: string }>(`select current_setting('server_version') as v`);
  return `PGlite ${rows[0]?.v ?? ''}`.trim();
}

async function finish(
  kind: BackupKind,
  partial: string,
  at: Date,
  state: DatabaseState,
  started: number,
  versions: { serverVersion?: string; toolVersion?: string },
): Promise<BackupResult> {
  const file = partial.replace(/\.partial$/, '');
  const name = path.basename(file);
  const sha256 = await writeChecksum(partial, name, checksumPath(file));
  const manifest: BackupManifest = {
    format: 1,
    kind,
    file: name,
    createdAt: at.toISOString(),
    schemaVersion: schemaVersion(state),
    sha256,
    bytes: (await stat(partial)).size,
    ...versions,
    durationMs: Math.round(performance.now() - started),
    tables: state.tables,
    migrations: state.migrations,
  };
  const manifestFile = manifestPath(file);
  await writeManifest(manifestFile, manifest);
  await writeChecksum(manifestFile, path.basename(manifestFile));
  await rename(partial, file);
  return { file, manifestFile, manifest };
}

/** Checks both checksums and returns the manifest; throws ChecksumError / BackupUnreadableError. */
export async function checkBackupFiles(file: string): Promise<BackupManifest> {
  await checkChecksum(manifestPath(file));
  const manifest = await readManifest(manifestPath(file));
  const actual = await checkChecksum(file);
  if (actual !== manifest.sha256) {
    throw new BackupError('checksum_mismatch', `${path.basename(file)} is not the dump its manifest describes`);
  }
  return manifest;
}

/** Options for verify and restore. */
export interface RestoreOptions extends ToolOptions {
  readonly onProgress?: ProgressFn;
}

/** What verify measured. */
export interface VerifyResult {
  readonly manifest: BackupManifest;
  /** How long the restore took: the measured recovery time. */
  readonly restoreMs: number;
  readonly state: DatabaseState;
  /** Problems that do not make the backup unusable: files or folder readable by others. */
  readonly warnings: readonly string[];
}

/** Files and folders of a backup that other users can read or enter (mode & 0o077), as warnings. */
export async function permissionWarnings(file: string): Promise<string[]> {
  const out: string[] = [];
  const check = async (p: string, want: number, what: string) => {
    let mode: number;
    try {
      mode = (await stat(p)).mode & 0o777;
    } catch {
      return; // missing sidecars are reported by the checks themselves
    }
    if ((mode & 0o077) !== 0) {
      out.push(
        `${what} ${p} is mode ${mode.toString(8).padStart(4, '0')}: others can read it; chmod ${want.toString(8)} it`,
      );
    }
  };
  await check(path.dirname(file), PRIVATE_DIR, 'folder');
  for (const f of [file, checksumPath(file), manifestPath(file)]) await check(f, PRIVATE_FILE, 'file');
  return out;
}

/**
 * Restores the dump into a scratch database (PostgreSQL: a new database on `databaseUrl`'s server;
 * PGlite: in memory), compares it with the manifest and discards it. Throws VerifyMismatchError
 * listing every difference.
 */
export async function verifyBackup(
  file: string,
  opts: RestoreOptions & { readonly databaseUrl?: string },
): Promise<VerifyResult> {
  const manifest = await checkBackupFiles(file);
  let restoreMs: number;
  let state: DatabaseState;
  if (manifest.kind === 'postgres') {
    if (!opts.databaseUrl) {
      throw new BackupError(
        'verify_needs_postgres',
        'verifying a PostgreSQL dump needs a PostgreSQL server: set DATABASE_URL (a scratch database is created there and dropped)',
      );
    }
    ({ restoreMs, state } = await withScratchDatabase(opts.databaseUrl, async (url) => {
      const r = await restorePostgres(file, url, opts);
      return { restoreMs: r.durationMs, state: await postgresState(url) };
    }));
  } else {
    const r = await pgliteDumpState(file);
    restoreMs = r.durationMs;
    state = r.state;
  }
  const diffs = compareState(manifest, state);
  if (diffs.length > 0) throw new VerifyMismatchError(diffs);
  return { manifest, restoreMs, state, warnings: await permissionWarnings(file) };
}

/** Where to restore: the configured database. */
export type RestoreTarget =
  | { readonly kind: 'postgres'; readonly url: string }
  | { readonly kind: 'pglite'; readonly dataDir: string };

/** What a restore did. */
export interface RestoreResult {
  readonly manifest: BackupManifest;
  readonly restoreMs: number;
  /** PGlite: where the replaced data directory was kept. */
  readonly keptAs?: string;
}

/**
 * Restores `file` into the configured database. Refuses a database holding rows (or, on
 * PostgreSQL, with WADI processes connected) unless `force`.
 */
export async function restoreBackup(
  file: string,
  target: RestoreTarget,
  opts: RestoreOptions & { readonly force?: boolean; readonly now?: () => Date },
): Promise<RestoreResult> {
  const manifest = await checkBackupFiles(file);
  if (manifest.kind !== target.kind) {
    throw new BackupError(
      'wrong_database_kind',
      manifest.kind === 'postgres'
        ? 'this is a PostgreSQL dump: set DATABASE_URL to the PostgreSQL database to restore into'
        : 'this is an embedded (PGlite) dump: it restores into WADI_DATA_DIR, so unset DATABASE_URL',
    );
  }
  const refuse = (why: string) => {
    throw new RestoreRefusedError(`${why}; pass --force to replace it with ${path.basename(file)}`);
  };
  let restoreMs: number;
  let keptAs: string | undefined;
  let state: DatabaseState;
  if (target.kind === 'postgres') {
    const current = await postgresState(target.url);
    const rows = nonEmptyTables(current);
    if (rows.length > 0 && !opts.force) refuse(`the database is not empty (${rows.join(', ')})`);
    const wadis = await connectedWadis(target.url);
    if (wadis > 0 && !opts.force) refuse(`${wadis} WADI connection(s) are open on the database; stop WADI first`);
    restoreMs = (await restorePostgres(file, target.url, opts)).durationMs;
    state = await postgresState(target.url);
  } else {
    const dataDir = path.resolve(target.dataDir);
    await mkdir(dataDir, { recursive: true });
    const lock = lockDataDir(dataDir, 'restore the embedded database');
    try {
      if (hasPgliteData(dataDir)) {
        const client = await openPgliteDir(dataDir);
        let rows: string[];
        try {
          rows = nonEmptyTables(await readState(client as unknown as Queryable));
        } finally {
          await client.close();
        }
        if (rows.length > 0 && !opts.force) refuse(`the embedded database is not empty (${rows.join(', ')})`);
      }
      const r = await restorePgliteDir(file, dataDir, (opts.now ?? (() => new Date()))());
      restoreMs = r.durationMs;
      keptAs = r.keptAs;
      state = r.state;
    } finally {
      lock.release();
    }
  }
  const diffs = compareState(manifest, state);
  if (diffs.length > 0) throw new VerifyMismatchError(diffs);
  return { manifest, restoreMs, keptAs };
}
