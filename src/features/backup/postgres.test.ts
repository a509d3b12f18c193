import { readdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedConversations } from '../../../test/helpers/backup-data.ts';
import { tempDir } from '../../../test/helpers/cli.ts';
import { postgresUrl, type TestDb, testDatabase } from '../../../test/helpers/db.ts';
import { LATEST_MIGRATION, MIGRATION_TAGS } from '../../../test/helpers/migrations.ts';
import { checkBackupFiles, createBackup, restoreBackup, verifyBackup } from './backup.ts';
import { sha256File } from './checksum.ts';
import { BackupError, ChecksumError, RestoreRefusedError } from './errors.ts';
import { KV_BACKUP_LAST_SUCCESS } from './last-success.ts';
import { checksumPath, manifestPath } from './naming.ts';
import { withScratchDatabase } from './postgres.ts';

describe.runIf(postgresUrl())('PostgreSQL backup → verify → restore', { timeout: 120_000 }, () => {
  let source: TestDb;
  let target: TestDb;
  let dir: string;
  let file: string;

  beforeAll(async () => {
    source = await testDatabase('postgres');
    target = await testDatabase('postgres');
    await seedConversations(source.database, 7, 5);
    dir = tempDir('wadi-backup-pg-');
    const r = await createBackup({ kind: 'postgres', url: source.url as string }, { dir });
    file = r.file;
  });
  afterAll(async () => {
    await source?.drop();
    await target?.drop();
  });

  it('writes a named dump with checksum and a manifest holding the real row counts and migrations', async () => {
    expect(path.basename(file)).toMatch(new RegExp(`^wadi-\\d{8}T\\d{9}Z-${LATEST_MIGRATION}\\.pgdump$`));
    expect(readdirSync(dir).sort()).toEqual(
      [file, checksumPath(file), manifestPath(file), checksumPath(manifestPath(file))]
        .map((f) => path.basename(f))
        .sort(),
    );
    expect(readFileSync(checksumPath(file), 'utf8')).toBe(`${await sha256File(file)}  ${path.basename(file)}\n`);
    const m = await checkBackupFiles(file);
    expect(m.kind).toBe('postgres');
    expect(m.tables['public.conversations']).toBe(7);
    expect(m.tables['public.inbox_messages']).toBe(35);
    expect(m.tables['public.history']).toBe(7);
    expect(m.migrations.map((x) => x.tag)).toEqual([...MIGRATION_TAGS]);
    expect(m.serverVersion).toMatch(/^\d+/);
    // The success is recorded for the BackupStale alert.
    const { rows } = await source.database.query<{ value: { file: string } }>('select value from kv where key = $1', [
      KV_BACKUP_LAST_SUCCESS,
    ]);
    expect(rows[0]?.value.file).toBe(file);
  });

  it('verify restores into a scratch database, matches the manifest, reports the restore time and drops it', async () => {
    const r = await verifyBackup(file, { databaseUrl: source.url });
    expect(r.restoreMs).toBeGreaterThan(0);
    expect(r.state.tables['public.inbox_messages']).toBe(35);
    // The scratch database verify restores into exists while it is used and is gone after, also when
    // the check fails. (Counting wadi_verify_* databases server-wide would race other test files.)
    const exists = async (name: string) =>
      (await source.database.query(`select 1 from pg_database where datname = $1`, [name])).rows.length === 1;
    const url = source.url as string;
    let used = '';
    await withScratchDatabase(url, async (u) => {
      used = new URL(u).pathname.slice(1);
      expect(await exists(used)).toBe(true);
    });
    expect(used).toMatch(/^wadi_verify_[0-9a-f]{12}$/);
    expect(await exists(used)).toBe(false);
    await expect(
      withScratchDatabase(url, async (u) => {
        used = new URL(u).pathname.slice(1);
        throw new Error('check failed');
      }),
    ).rejects.toThrow('check failed');
    expect(await exists(used)).toBe(false);
  });

  it('restores into an empty migrated database with the same rows, then refuses to overwrite it without force', async () => {
    const r = await restoreBackup(file, { kind: 'postgres', url: target.url as string }, {});
    expect(r.restoreMs).toBeGreaterThan(0);
    const { rows } = await target.database.query<{ display_name: string }>(
      `select display_name from conversations where chat_id = 'chat-3'`,
    );
    expect(rows[0]?.display_name).toBe('Usuario 3 ñandú 🎉');
    await expect(restoreBackup(file, { kind: 'postgres', url: target.url as string }, {})).rejects.toThrow(
      RestoreRefusedError,
    );
    await expect(restoreBackup(file, { kind: 'postgres', url: target.url as string }, {})).rejects.toThrow(
      /not empty \(conversations: 7 rows/,
    );
    // With force, a database with extra rows is replaced by exactly the dump.
    await target.database.query(`insert into kv (key, value) values ('extra', '1')`);
    await restoreBackup(file, { kind: 'postgres', url: target.url as string }, { force: true });
    const kv = await target.database.query(`select 1 from kv where key = 'extra'`);
    expect(kv.rows).toHaveLength(0);
  });

  it('says what is needed when verify or restore cannot use the configured database', async () => {
    await expect(verifyBackup(file, {})).rejects.toThrow(/needs a PostgreSQL server: set DATABASE_URL/);
    await expect(restoreBackup(file, { kind: 'pglite', dataDir: tempDir() }, {})).rejects.toThrow(
      /PostgreSQL dump: set DATABASE_URL/,
    );
  });

  it('a corrupted or truncated dump fails verify with a clear message', async () => {
    const copy = path.join(tempDir('wadi-backup-bad-'), path.basename(file));
    const bytes = readFileSync(file);
    const flip = Buffer.from(bytes);
    flip[Math.floor(flip.length / 2)] = (flip[Math.floor(flip.length / 2)] ?? 0) ^ 0xff;
    for (const f of [manifestPath(file), checksumPath(file), checksumPath(manifestPath(file))]) {
      writeFileSync(path.join(path.dirname(copy), path.basename(f)), readFileSync(f));
    }
    writeFileSync(copy, flip);
    await expect(verifyBackup(copy, { databaseUrl: source.url })).rejects.toThrow(ChecksumError);
    await expect(verifyBackup(copy, { databaseUrl: source.url })).rejects.toThrow(/corrupted or truncated/);
    writeFileSync(copy, bytes);
    truncateSync(copy, Math.floor(bytes.length * 0.6));
    await expect(verifyBackup(copy, { databaseUrl: source.url })).rejects.toThrow(/checksum mismatch/);
  });

  it('a truncated dump whose checksums were recomputed still fails: the restore itself is checked', async () => {
    const d = tempDir('wadi-backup-trunc-');
    const copy = path.join(d, path.basename(file));
    const bytes = readFileSync(file);
    writeFileSync(copy, bytes.subarray(0, Math.floor(bytes.length * 0.7)));
    const sha = await sha256File(copy);
    writeFileSync(checksumPath(copy), `${sha}  ${path.basename(copy)}\n`);
    const manifest = JSON.parse(readFileSync(manifestPath(file), 'utf8'));
    writeFileSync(manifestPath(copy), JSON.stringify({ ...manifest, sha256: sha }));
    writeFileSync(checksumPath(manifestPath(copy)), `${await sha256File(manifestPath(copy))}  x\n`);
    const err = await verifyBackup(copy, { databaseUrl: source.url }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackupError);
    expect((err as Error).message).toMatch(
      /could not be restored \(truncated or corrupted\?\)|not a readable pg_dump archive/,
    );
  });
});
