/**
 * Backups hold every conversation: the backup folder is created 0700 and every file WADI or
 * pg_dump writes into it 0600, whatever the process umask. `wadi backup verify` warns about
 * looser modes (see permissionWarnings in backup.ts).
 */
import { open } from 'node:fs/promises';

export const PRIVATE_DIR = 0o700;
export const PRIVATE_FILE = 0o600;

/**
 * Creates `file` empty with mode 0600 (failing if it exists), so a tool that then writes to it
 * (pg_dump opens its --file with O_TRUNC) keeps the mode instead of creating it 0644.
 */
export async function createPrivateFile(file: string): Promise<void> {
  const fh = await open(file, 'wx', PRIVATE_FILE);
  await fh.close();
}
