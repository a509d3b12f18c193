/**
 * Retention: deletes backups older than BACKUP_RETENTION_DAYS from BACKUP_DIR. Only files whose
 * names WADI writes are considered, and the newest complete dump is always kept, so a run of
 * failing backups never prunes the last good one.
 */
import { readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { BACKUP_FILE_PATTERN, checksumPath, kindOf, manifestPath } from './naming.ts';

/** Removes expired backup files from `dir`; returns the names removed. */
export async function pruneBackups(dir: string, retentionDays: number, now: Date): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const ours = names.filter((n) => BACKUP_FILE_PATTERN.test(n));
  const files = await Promise.all(
    ours.map(async (name) => ({ name, mtime: (await stat(path.join(dir, name))).mtimeMs })),
  );
  const dumps = files.filter((f) => kindOf(f.name) !== undefined).sort((a, b) => b.mtime - a.mtime);
  const newest = dumps[0]?.name;
  const keep = new Set(
    newest ? [newest, checksumPath(newest), manifestPath(newest), checksumPath(manifestPath(newest))] : [],
  );
  const cutoff = now.getTime() - retentionDays * 86_400_000;
  const removed: string[] = [];
  for (const f of files) {
    if (f.mtime >= cutoff || keep.has(f.name)) continue;
    await rm(path.join(dir, f.name), { force: true });
    removed.push(f.name);
  }
  return removed.sort();
}
