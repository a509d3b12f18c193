import { existsSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../../test/helpers/cli.ts';
import { backupFileName, checksumPath, manifestPath } from './naming.ts';
import { pruneBackups } from './retention.ts';

const DAY = 86_400_000;

function touch(dir: string, name: string, ageDays: number, now: Date): string {
  const file = path.join(dir, name);
  writeFileSync(file, 'x');
  const t = new Date(now.getTime() - ageDays * DAY);
  utimesSync(file, t, t);
  return name;
}

function backupSet(dir: string, at: Date, ageDays: number, now: Date): string[] {
  const dump = backupFileName('postgres', at, '0000_initial');
  return [dump, checksumPath(dump), manifestPath(dump), checksumPath(manifestPath(dump))].map((n) =>
    touch(dir, n, ageDays, now),
  );
}

describe('backup retention', () => {
  it('removes WADI backup files older than the retention period and nothing else', async () => {
    const now = new Date('2026-11-28T03:00:00Z');
    const dir = tempDir('wadi-retention-');
    const old = backupSet(dir, new Date('2026-10-01T03:00:00Z'), 58, now);
    const older = backupSet(dir, new Date('2026-09-01T03:00:00Z'), 88, now);
    const recent = backupSet(dir, new Date('2026-11-20T03:00:00Z'), 8, now);
    const partial = touch(dir, `${backupFileName('pglite', new Date('2026-09-02T00:00:00Z'), 'x')}.partial`, 87, now);
    const foreign = [touch(dir, 'notes.txt', 400, now), touch(dir, 'wadi-important.dump', 400, now)];

    const removed = await pruneBackups(dir, 30, now);
    expect(removed).toEqual([...old, ...older, partial].sort());
    expect(readdirSync(dir).sort()).toEqual([...recent, ...foreign].sort());
  });

  it('always keeps the newest dump, even when every backup is past retention', async () => {
    const now = new Date('2026-11-28T03:00:00Z');
    const dir = tempDir('wadi-retention-');
    const newest = backupSet(dir, new Date('2026-10-20T03:00:00Z'), 39, now);
    const older = backupSet(dir, new Date('2026-10-10T03:00:00Z'), 49, now);
    const removed = await pruneBackups(dir, 30, now);
    expect(removed).toEqual([...older].sort());
    for (const n of newest) expect(existsSync(path.join(dir, n))).toBe(true);
  });

  it('does nothing when the directory does not exist yet', async () => {
    expect(await pruneBackups(path.join(tempDir(), 'missing'), 30, new Date())).toEqual([]);
  });
});
