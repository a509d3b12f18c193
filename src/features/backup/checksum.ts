/**
 * SHA-256 checksum files in `sha256sum` format (`<hex>  <name>`), so an operator can also check a
 * copy with `sha256sum -c` on any machine.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { BackupUnreadableError, ChecksumError } from './errors.ts';
import { PRIVATE_FILE } from './modes.ts';
import { checksumPath } from './naming.ts';

/** Hex SHA-256 of a file, streamed (dumps can be large). */
export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Writes `<file>.sha256` naming `nameInFile` (the final base name, even while `file` is a partial). */
export async function writeChecksum(file: string, nameInFile: string, target = checksumPath(file)): Promise<string> {
  const hex = await sha256File(file);
  await writeFile(target, `${hex}  ${nameInFile}\n`, { mode: PRIVATE_FILE });
  return hex;
}

/** Throws ChecksumError unless `file` matches its `.sha256` sidecar. */
export async function checkChecksum(file: string): Promise<string> {
  let line: string;
  try {
    line = await readFile(checksumPath(file), 'utf8');
  } catch {
    throw new BackupUnreadableError(
      `${path.basename(checksumPath(file))} is missing: copy it together with ${path.basename(file)}`,
    );
  }
  const expected = /^([0-9a-f]{64})\s/.exec(line)?.[1];
  if (!expected) throw new ChecksumError(`${path.basename(checksumPath(file))} is not a valid sha256 line`);
  let actual: string;
  try {
    actual = await sha256File(file);
  } catch (err) {
    throw new BackupUnreadableError(`cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
  if (actual !== expected) {
    throw new ChecksumError(
      `checksum mismatch for ${path.basename(file)}: the file is corrupted or truncated (expected sha256 ${expected.slice(0, 12)}…, got ${actual.slice(0, 12)}…)`,
    );
  }
  return actual;
}
