/**
 * The manifest written beside every dump: which migrations were applied and how many rows each
 * table held at the instant of the dump. `verify` restores the dump and compares against it.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Queryable } from '../../db/client.ts';
import { BackupUnreadableError } from './errors.ts';
import { PRIVATE_FILE } from './modes.ts';
import type { BackupKind } from './naming.ts';

/** One applied migration, as drizzle records it. */
export interface AppliedMigration {
  readonly tag: string;
  readonly createdAt: number;
  readonly hash: string;
}

/** What a database held: row counts by `schema.table`, and its applied migrations in order. */
export interface DatabaseState {
  readonly tables: Record<string, number>;
  readonly migrations: readonly AppliedMigration[];
}

/** The sidecar manifest (`<dump>.manifest.json`). */
export interface BackupManifest extends DatabaseState {
  readonly format: 1;
  readonly kind: BackupKind;
  readonly file: string;
  readonly createdAt: string;
  /** Latest applied migration tag, also in the file name. */
  readonly schemaVersion: string;
  readonly sha256: string;
  readonly bytes: number;
  readonly serverVersion?: string;
  readonly toolVersion?: string;
  readonly durationMs: number;
}

// Schemas WADI owns: its tables and drizzle's migration journal.
const SCHEMAS = ['public', 'drizzle'];

/** Tag names by migration timestamp, from the migrations folder's journal. */
async function journalTags(): Promise<Map<number, string>> {
  const journal = (await import('../../../migrations/meta/_journal.json', { with: { type: 'json' } })).default as {
    entries: { when: number; tag: string }[];
  };
  return new Map(journal.entries.map((e) => [e.when, e.tag]));
}

/** Reads row counts and applied migrations through `q` (a connection, a snapshot transaction, PGlite). */
export async function readState(q: Queryable): Promise<DatabaseState> {
  const { rows } = await q.query<{ s: string; t: string }>(
    `select schemaname as s, tablename as t from pg_catalog.pg_tables where schemaname = any($1) order by 1, 2`,
    [SCHEMAS],
  );
  const tables: Record<string, number> = {};
  for (const r of rows) {
    const ident = `"${r.s.replaceAll('"', '""')}"."${r.t.replaceAll('"', '""')}"`;
    const c = await q.query<{ n: string }>(`select count(*)::text as n from ${ident}`);
    tables[`${r.s}.${r.t}`] = Number(c.rows[0]?.n ?? 0);
  }
  const migrations: AppliedMigration[] = [];
  if (tables['drizzle.__drizzle_migrations'] !== undefined) {
    const tags = await journalTags();
    const m = await q.query<{ hash: string; created_at: string }>(
      'select hash, created_at::text as created_at from drizzle.__drizzle_migrations order by created_at, id',
    );
    for (const r of m.rows) {
      const createdAt = Number(r.created_at);
      migrations.push({ tag: tags.get(createdAt) ?? String(createdAt), createdAt, hash: r.hash });
    }
  }
  return { tables, migrations };
}

/** The schema version of a state: its latest applied migration tag, or `empty`. */
export function schemaVersion(state: DatabaseState): string {
  return state.migrations.at(-1)?.tag ?? 'empty';
}

/** Tables holding rows, as `name: N rows` strings (for "not empty" messages). */
export function nonEmptyTables(state: DatabaseState): string[] {
  return Object.entries(state.tables)
    .filter(([name, n]) => n > 0 && !name.startsWith('drizzle.'))
    .map(([name, n]) => `${name.replace(/^public\./, '')}: ${n} row${n === 1 ? '' : 's'}`);
}

/** Every difference between the manifest and a restored copy, one line each; empty when equal. */
export function compareState(expected: DatabaseState, actual: DatabaseState): string[] {
  const diffs: string[] = [];
  const want = expected.migrations.map((m) => `${m.tag}@${m.hash.slice(0, 12)}`).join(', ');
  const got = actual.migrations.map((m) => `${m.tag}@${m.hash.slice(0, 12)}`).join(', ');
  if (want !== got) diffs.push(`migrations: manifest has [${want}], restored copy has [${got}]`);
  const names = new Set([...Object.keys(expected.tables), ...Object.keys(actual.tables)]);
  for (const name of [...names].sort()) {
    const e = expected.tables[name];
    const a = actual.tables[name];
    if (e === undefined) diffs.push(`table ${name}: not in the manifest but present in the restored copy`);
    else if (a === undefined) diffs.push(`table ${name}: in the manifest (${e} rows) but missing after restore`);
    else if (e !== a) diffs.push(`table ${name}: manifest says ${e} rows, restored copy has ${a}`);
  }
  return diffs;
}

/** Writes the manifest as pretty JSON. */
export async function writeManifest(file: string, manifest: BackupManifest): Promise<void> {
  await writeFile(file, `${JSON.stringify(manifest, null, 2)}\n`, { mode: PRIVATE_FILE });
}

/** Reads and validates a manifest. */
export async function readManifest(file: string): Promise<BackupManifest> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new BackupUnreadableError(
      `${path.basename(file)} is missing: every dump needs its manifest beside it to be verified or restored`,
    );
  }
  let m: BackupManifest;
  try {
    m = JSON.parse(text) as BackupManifest;
  } catch {
    throw new BackupUnreadableError(`${path.basename(file)} is not valid JSON`);
  }
  if (m.format !== 1 || (m.kind !== 'postgres' && m.kind !== 'pglite') || typeof m.tables !== 'object') {
    throw new BackupUnreadableError(`${path.basename(file)} is not a WADI backup manifest (format 1)`);
  }
  return m;
}
