import { chmodSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedConversations } from '../../../test/helpers/backup-data.ts';
import { tempDir } from '../../../test/helpers/cli.ts';
import { type Backend, backends, type TestDb, testDatabase } from '../../../test/helpers/db.ts';
import { createBackup, verifyBackup } from './backup.ts';

const mode = (p: string) => statSync(p).mode & 0o777;

describe.each(backends())('backup file modes (%s)', (backend: Backend) => {
  let t: TestDb;
  let dir: string;
  let file: string;
  const umask = process.umask();

  beforeAll(async () => {
    // The usual umask: files would be created 0644 and folders 0755.
    process.umask(0o022);
    t = await testDatabase(backend);
    await seedConversations(t.database, 2, 2);
    dir = path.join(tempDir('wadi-backup-modes-'), 'backups');
    const source =
      backend === 'postgres'
        ? ({ kind: 'postgres', url: t.url as string } as const)
        : ({ kind: 'pglite-live', database: t.database } as const);
    file = (await createBackup(source, { dir, record: false })).file;
  }, 120_000);
  afterAll(async () => {
    process.umask(umask);
    await t?.drop();
  });

  it('creates the folder 0700 and every file 0600', () => {
    expect(mode(dir).toString(8)).toBe('700');
    const files = readdirSync(dir);
    expect(files.length).toBeGreaterThanOrEqual(4);
    for (const f of files) expect(`${f} ${mode(path.join(dir, f)).toString(8)}`).toBe(`${f} 600`);
  });

  it('backup verify warns when the dump or its folder are readable by others', async () => {
    const opts = { databaseUrl: t.url };
    expect((await verifyBackup(file, opts)).warnings).toEqual([]);
    chmodSync(file, 0o644);
    chmodSync(dir, 0o755);
    const { warnings } = await verifyBackup(file, opts);
    expect(warnings).toEqual([
      `folder ${dir} is mode 0755: others can read it; chmod 700 it`,
      `file ${file} is mode 0644: others can read it; chmod 600 it`,
    ]);
  }, 120_000);
});
