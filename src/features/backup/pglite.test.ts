import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedConversations } from '../../../test/helpers/backup-data.ts';
import { tempDir } from '../../../test/helpers/cli.ts';
import { type TestDb, testDatabase } from '../../../test/helpers/db.ts';
import { LATEST_MIGRATION, MIGRATION_TAGS } from '../../../test/helpers/migrations.ts';
import { openDatabase } from '../../db/client.ts';
import { createBackup, restoreBackup, verifyBackup } from './backup.ts';
import { sha256File } from './checksum.ts';
import { BackupUnreadableError, ChecksumError, DataDirBusyError, RestoreRefusedError } from './errors.ts';
import { checksumPath, manifestPath } from './naming.ts';

function copyWithSidecars(file: string, bytes: Buffer, fixChecksums: boolean): Promise<string> | string {
  const copy = path.join(tempDir('wadi-pglite-bad-'), path.basename(file));
  writeFileSync(copy, bytes);
  for (const f of [manifestPath(file), checksumPath(manifestPath(file))]) {
    writeFileSync(path.join(path.dirname(copy), path.basename(f)), readFileSync(f));
  }
  if (!fixChecksums) {
    writeFileSync(checksumPath(copy), readFileSync(checksumPath(file)));
    return copy;
  }
  return (async () => {
    const sha = await sha256File(copy);
    writeFileSync(checksumPath(copy), `${sha}  ${path.basename(copy)}\n`);
    const m = JSON.parse(readFileSync(manifestPath(file), 'utf8'));
    writeFileSync(manifestPath(copy), JSON.stringify({ ...m, sha256: sha }));
    writeFileSync(checksumPath(manifestPath(copy)), `${await sha256File(manifestPath(copy))}  m\n`);
    return copy;
  })();
}

// PGlite opens take seconds of CPU each on a busy machine; these tests open several.
describe('PGlite backup → verify → restore', { timeout: 240_000 }, () => {
  let live: TestDb;
  let file: string;
  const dataDir = path.join(tempDir('wadi-pglite-restore-'), 'data');

  beforeAll(async () => {
    live = await testDatabase('pglite');
    await seedConversations(live.database, 4, 3);
    // The running-server path: this process's own embedded database, dumped while open.
    const r = await createBackup({ kind: 'pglite-live', database: live.database }, { dir: tempDir('wadi-pglite-') });
    file = r.file;
  }, 240_000);
  afterAll(async () => {
    await live?.drop();
  });

  it('dumps the live database with a manifest counting the real rows', async () => {
    expect(path.basename(file)).toMatch(new RegExp(`^wadi-\\d{8}T\\d{9}Z-${LATEST_MIGRATION}\\.pglite\\.tar\\.gz$`));
    const m = JSON.parse(readFileSync(manifestPath(file), 'utf8'));
    expect(m.kind).toBe('pglite');
    expect(m.tables['public.conversations']).toBe(4);
    expect(m.tables['public.inbox_messages']).toBe(12);
    expect(m.tables['public.kv']).toBe(0); // the success is recorded after the dump
    expect(m.migrations.map((x: { tag: string }) => x.tag)).toEqual([...MIGRATION_TAGS]);
    expect(readFileSync(checksumPath(file), 'utf8')).toContain(path.basename(file));
  });

  it('verify loads it into an in-memory PGlite and reports the restore time', async () => {
    const r = await verifyBackup(file, {});
    expect(r.restoreMs).toBeGreaterThan(0);
    expect(r.state.tables['public.history']).toBe(4);
  });

  it('corrupted and truncated dumps fail verify with a clear message', async () => {
    const bytes = readFileSync(file);
    const flipped = Buffer.from(bytes);
    flipped[100] = (flipped[100] ?? 0) ^ 0xff;
    await expect(verifyBackup(await copyWithSidecars(file, flipped, false), {})).rejects.toThrow(ChecksumError);
    const truncated = bytes.subarray(0, Math.floor(bytes.length / 2));
    await expect(verifyBackup(await copyWithSidecars(file, truncated, false), {})).rejects.toThrow(
      /checksum mismatch .*corrupted or truncated/,
    );
    // Even with matching checksums, a truncated archive is caught before PGlite sees it.
    await expect(verifyBackup(await copyWithSidecars(file, truncated, true), {})).rejects.toThrow(
      BackupUnreadableError,
    );
    await expect(verifyBackup(await copyWithSidecars(file, truncated, true), {})).rejects.toThrow(
      /not a complete gzip archive \(truncated or corrupted\)/,
    );
  });

  it('restores into an empty data dir, refuses a non-empty one without --force, keeps the old one with it', async () => {
    await restoreBackup(file, { kind: 'pglite', dataDir }, {});
    const db = await openDatabase({ dataDir });
    try {
      const { rows } = await db.query<{ n: number }>('select count(*)::int as n from inbox_messages');
      expect(rows[0]?.n).toBe(12);
      await db.query(`insert into kv (key, value) values ('after-restore', '1')`);
    } finally {
      await db.close();
    }
    await expect(restoreBackup(file, { kind: 'pglite', dataDir }, {})).rejects.toThrow(RestoreRefusedError);
    const forced = await restoreBackup(file, { kind: 'pglite', dataDir }, { force: true });
    expect(forced.keptAs && existsSync(forced.keptAs)).toBe(true);
  });

  it('the CLI path backs up an idle data dir, and refuses one held by a running WADI', async () => {
    const r = await createBackup({ kind: 'pglite-dir', dataDir }, { dir: tempDir('wadi-pglite-cli-') });
    expect(r.manifest.tables['public.inbox_messages']).toBe(12);
    // A live process (our parent) holding the lock stands in for a running WADI.
    writeFileSync(path.join(dataDir, 'wadi.pid'), String(process.ppid));
    try {
      const err = await createBackup({ kind: 'pglite-dir', dataDir }, { dir: tempDir() }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DataDirBusyError);
      expect((err as Error).message).toMatch(/in use by process \d+.*BACKUP_SCHEDULE/);
      await expect(restoreBackup(file, { kind: 'pglite', dataDir }, { force: true })).rejects.toThrow(DataDirBusyError);
    } finally {
      writeFileSync(path.join(dataDir, 'wadi.pid'), '');
    }
  });
});
