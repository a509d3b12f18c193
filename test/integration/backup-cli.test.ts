import { chmodSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/client.ts';
import { migrate } from '../../src/db/migrate.ts';
import { sha256File } from '../../src/features/backup/checksum.ts';
import { checksumPath, manifestPath } from '../../src/features/backup/naming.ts';
import { seedConversations } from '../helpers/backup-data.ts';
import { runWadi, tempDir } from '../helpers/cli.ts';
import { createPostgresDatabase, postgresUrl } from '../helpers/db.ts';
import { LATEST_MIGRATION } from '../helpers/migrations.ts';

const PASSWORD = 'n0t-a-real-passw0rd-xyz';

/** A directory whose pg_dump claims `version` and records how it was called. */
function fakeTools(version: string): { dir: string; record: string } {
  const dir = tempDir('wadi-fake-pg-');
  const record = path.join(dir, 'called.txt');
  for (const tool of ['pg_dump', 'pg_restore', 'psql']) {
    const file = path.join(dir, tool);
    writeFileSync(
      file,
      `#!/bin/sh\nif [ "$1" = "--version" ]; then echo "${tool} (PostgreSQL) ${version}"; exit 0; fi\n` +
        `echo "args: $*" >> "${record}"\necho "env: $PGPASSWORD" >> "${record}"\nexit 3\n`,
    );
    chmodSync(file, 0o755);
  }
  return { dir, record };
}

function withPassword(url: string): string {
  const u = new URL(url);
  u.password = PASSWORD; // trust auth ignores it; the point is that it never leaks
  return u.toString();
}

// Each CLI run starts a Node process (seconds on a busy machine); the round trip runs six.
describe.runIf(postgresUrl())('wadi backup / backup verify / restore (PostgreSQL)', { timeout: 180_000 }, () => {
  let source: { url: string; drop: () => Promise<void> };
  let target: { url: string; drop: () => Promise<void> };

  beforeAll(async () => {
    source = await createPostgresDatabase();
    target = await createPostgresDatabase();
    const db = await openDatabase({ url: source.url });
    await migrate(db);
    await seedConversations(db, 5, 4);
    await db.close();
  });
  afterAll(async () => {
    await source?.drop();
    await target?.drop();
  });

  it('round trip through the real binary, with the password kept out of every output', async () => {
    const out = tempDir('wadi-cli-backup-');
    const b = await runWadi(['backup', '--out', out], {
      env: { DATABASE_URL: withPassword(source.url) },
      timeoutMs: 60_000,
    });
    expect(b.stderr).not.toContain(PASSWORD);
    expect(b.code).toBe(0);
    expect(b.stdout).toMatch(/backup written: .*\.pgdump/);
    expect(b.stderr).toMatch(/dump: [\d.]+ (B|KiB|MiB) written, \d+\.\d s/); // progress
    expect(b.stdout).not.toContain(PASSWORD);
    const dump = path.join(out, readdirSync(out).find((n) => n.endsWith('.pgdump')) as string);

    const v = await runWadi(['backup', 'verify', dump], { env: { DATABASE_URL: source.url }, timeoutMs: 60_000 });
    expect(v.code).toBe(0);
    expect(v.stdout).toContain('backup OK');
    expect(v.stdout).toMatch(/restore took \d+\.\d+ s/);

    const r = await runWadi(['restore', dump], { env: { DATABASE_URL: withPassword(target.url) }, timeoutMs: 60_000 });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`restored .* in \\d+\\.\\d+ s: \\d+ rows, schema ${LATEST_MIGRATION}`));
    expect(r.stderr).toMatch(/restore: [\d.]+ (B|KiB|MiB) applied, \d+\.\d s/);
    const again = await runWadi(['restore', dump], { env: { DATABASE_URL: target.url }, timeoutMs: 60_000 });
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('is not empty');
    expect(again.stderr).toContain('--force');
    const forced = await runWadi(['restore', dump, '--force'], {
      env: { DATABASE_URL: target.url },
      timeoutMs: 60_000,
    });
    expect(forced.code).toBe(0);

    // A manifest that disagrees with the dump (checksums kept consistent) fails verify with exit 1.
    const m = JSON.parse(readFileSync(manifestPath(dump), 'utf8'));
    m.tables['public.conversations'] = 6;
    writeFileSync(manifestPath(dump), JSON.stringify(m));
    writeFileSync(checksumPath(manifestPath(dump)), `${await sha256File(manifestPath(dump))}  x\n`);
    const bad = await runWadi(['backup', 'verify', dump], { env: { DATABASE_URL: source.url }, timeoutMs: 60_000 });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('table public.conversations: manifest says 6 rows, restored copy has 5');
  });

  it('names the missing package when pg_dump is not installed', async () => {
    const r = await runWadi(['backup', '--out', tempDir()], {
      env: { DATABASE_URL: source.url, BACKUP_PG_BIN_DIR: tempDir('wadi-empty-bin-') },
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('pg_dump was not found');
    expect(r.stderr).toContain('postgresql-client');
  });

  it('refuses a pg_dump older than the server, and passes the password only in the environment', async () => {
    const old = fakeTools('9.6.24');
    const r = await runWadi(['backup', '--out', tempDir()], {
      env: { DATABASE_URL: withPassword(source.url), BACKUP_PG_BIN_DIR: old.dir },
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/pg_dump 9 cannot handle a PostgreSQL \d+ server: install postgresql-client-\d+/);

    const current = fakeTools('99.0');
    const out = tempDir();
    const c = await runWadi(['backup', '--out', out], {
      env: { DATABASE_URL: withPassword(source.url), BACKUP_PG_BIN_DIR: current.dir },
    });
    expect(c.code).toBe(1);
    expect(c.stderr).toContain('pg_dump failed (exit 3)');
    expect(c.stderr).not.toContain(PASSWORD);
    const called = readFileSync(current.record, 'utf8');
    expect(called).toContain('--format=custom');
    expect(called).toMatch(/args: .*--snapshot=/);
    expect(called.split('\n').find((l) => l.startsWith('args:'))).not.toContain(PASSWORD);
    expect(called).toContain(`env: ${PASSWORD}`);
    expect(readdirSync(out)).toEqual([]); // the partial file is removed
  });
});
