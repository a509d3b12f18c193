/**
 * Embedded-database (PGlite) backups: PGlite's own data-directory tarball. PGlite is one process's
 * database, guarded by the data-dir lock, so a running WADI dumps it itself (BACKUP_SCHEDULE) and
 * the CLI opens the directory only when no server holds it.
 */
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { PGlite } from '@electric-sql/pglite';
import type { Database, Queryable } from '../../db/client.ts';
import { DataDirLock } from '../../db/data-dir-lock.ts';
import { DatabaseOpenError } from '../../db/errors.ts';
import { BackupError, BackupUnreadableError, DataDirBusyError } from './errors.ts';
import { type DatabaseState, readState } from './manifest.ts';
import { PRIVATE_FILE } from './modes.ts';
import type { ProgressFn } from './progress.ts';

const gunzipAsync = promisify(gunzip);

/** The PGlite instance behind an embedded `Database` (Drizzle keeps it as `$client`). */
export function pgliteOf(database: Database): PGlite {
  const client = (database.db as unknown as { $client?: unknown }).$client;
  if (!(client instanceof PGlite))
    throw new BackupError('not_pglite', 'the configured database is not embedded PGlite');
  return client;
}

/** Writes a gzip tarball of the live data directory to `file`; returns its size. */
export async function dumpPglite(client: PGlite, file: string, onProgress?: ProgressFn): Promise<number> {
  const started = performance.now();
  const blob = await client.dumpDataDir('gzip');
  const bytes = Buffer.from(await blob.arrayBuffer());
  await writeFile(file, bytes, { mode: PRIVATE_FILE });
  onProgress?.({ phase: 'dump', bytes: bytes.length, elapsedMs: performance.now() - started });
  return bytes.length;
}

/**
 * Reads and decompresses a dump, so a truncated or corrupted file fails here with a clear
 * message (gzip carries a CRC) instead of inside PGlite, where a zlib error escapes as an
 * uncaught exception.
 */
async function readTarball(file: string): Promise<Blob> {
  let gz: Buffer;
  try {
    gz = await readFile(file);
  } catch (err) {
    throw new BackupUnreadableError(`cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
  try {
    return new Blob([new Uint8Array(await gunzipAsync(gz))]);
  } catch (err) {
    throw new BackupUnreadableError(
      `${path.basename(file)} is not a complete gzip archive (truncated or corrupted): ${(err as Error).message}`,
      { cause: err },
    );
  }
}

/** Loads a dump into a new PGlite (in memory, or in `dir`), reporting how long the load took. */
export async function loadPglite(file: string, dir?: string): Promise<{ client: PGlite; durationMs: number }> {
  const tar = await readTarball(file);
  const started = performance.now();
  try {
    const client = await PGlite.create(dir, { loadDataDir: tar });
    await client.query('select 1');
    return { client, durationMs: performance.now() - started };
  } catch (err) {
    throw new BackupUnreadableError(
      `${path.basename(file)} could not be loaded as a PGlite data directory: ${(err as Error).message}`,
      { cause: err },
    );
  }
}

/** Row counts and migrations of a dump, read from a throwaway in-memory copy. */
export async function pgliteDumpState(file: string): Promise<{ state: DatabaseState; durationMs: number }> {
  const { client, durationMs } = await loadPglite(file);
  try {
    return { state: await readState(client as unknown as Queryable), durationMs };
  } finally {
    await client.close();
  }
}

/** Claims the embedded data dir for this process, or explains that a running WADI holds it. */
export function lockDataDir(dataDir: string, what: string): DataDirLock {
  try {
    return DataDirLock.acquire(dataDir);
  } catch (err) {
    if (!(err instanceof DatabaseOpenError)) throw err;
    throw new DataDirBusyError(
      `cannot ${what}: ${err.message}. A running WADI backs up its embedded database itself when BACKUP_SCHEDULE is set; to ${what} from the command line, stop it first`,
    );
  }
}

/** Opens the data dir's PGlite while this process holds the lock. */
export async function openPgliteDir(dataDir: string): Promise<PGlite> {
  const dir = path.join(dataDir, 'pglite');
  await mkdir(dir, { recursive: true });
  return PGlite.create(dir);
}

/** True when `dataDir` holds an initialised embedded database. */
export function hasPgliteData(dataDir: string): boolean {
  const dir = path.join(dataDir, 'pglite');
  return existsSync(dir) && readdirSync(dir).length > 0;
}

/**
 * Replaces the embedded database in `dataDir` (locked by the caller) with the dump. The old
 * directory is kept beside it as `pglite.before-restore-<time>` until the operator removes it.
 */
export async function restorePgliteDir(
  file: string,
  dataDir: string,
  at: Date,
): Promise<{ durationMs: number; keptAs?: string; state: DatabaseState }> {
  const dir = path.join(dataDir, 'pglite');
  // Decompress before moving anything, so a bad dump leaves the current database untouched.
  await readTarball(file);
  let keptAs: string | undefined;
  if (existsSync(dir)) {
    keptAs = path.join(dataDir, `pglite.before-restore-${at.toISOString().replace(/[:.]/g, '-')}`);
    await rename(dir, keptAs);
  }
  try {
    await mkdir(dir, { recursive: true });
    const { client, durationMs } = await loadPglite(file, dir);
    try {
      return { durationMs, keptAs, state: await readState(client as unknown as Queryable) };
    } finally {
      await client.close();
    }
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    if (keptAs) await rename(keptAs, dir);
    throw err;
  }
}
