/**
 * Backup file names: `wadi-<UTC time>-<schema version>.<ext>`, e.g.
 * `wadi-20261128T195500123Z-0000_initial.pgdump`. The pattern is what retention deletes by, so
 * nothing WADI did not write is ever touched.
 */

/** What kind of dump a file holds, by extension. */
export type BackupKind = 'postgres' | 'pglite';

const EXT: Record<BackupKind, string> = { postgres: '.pgdump', pglite: '.pglite.tar.gz' };

/** Matches a dump, its manifest, their checksums, and unfinished `.partial` files. */
export const BACKUP_FILE_PATTERN =
  /^wadi-\d{8}T\d{9}Z-[A-Za-z0-9_.-]+?\.(pgdump|pglite\.tar\.gz)(\.manifest\.json)?(\.sha256)?(\.partial)?$/;

/** The dump's file name for a backup taken at `at` with the latest applied migration `schema`. */
export function backupFileName(kind: BackupKind, at: Date, schema: string): string {
  const iso = at.toISOString(); // 2026-11-28T19:55:00.123Z
  const stamp = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}T${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}${iso.slice(20, 23)}Z`;
  const safe = schema.replace(/[^A-Za-z0-9_-]/g, '_') || 'empty';
  return `wadi-${stamp}-${safe}${EXT[kind]}`;
}

/** The kind of dump in `file`, from its extension, or undefined if it is not a WADI dump name. */
export function kindOf(file: string): BackupKind | undefined {
  if (file.endsWith(EXT.postgres)) return 'postgres';
  if (file.endsWith(EXT.pglite)) return 'pglite';
  return undefined;
}

/** The sidecar manifest of a dump. */
export function manifestPath(dump: string): string {
  return `${dump}.manifest.json`;
}

/** The checksum file of a dump or manifest. */
export function checksumPath(file: string): string {
  return `${file}.sha256`;
}
