/**
 * PGlite is one in-process database: two processes opening the same directory would corrupt it.
 * This lock file (holding the owner's pid) turns that into a clear error instead.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DatabaseOpenError } from './errors.ts';

/** An exclusive claim on a data directory by this process. */
export class DataDirLock {
  private readonly file: string;
  private constructor(file: string) {
    this.file = file;
  }

  /** Claims `dir`, or throws DatabaseOpenError naming the process that holds it. */
  static acquire(dir: string): DataDirLock {
    const file = path.join(dir, 'wadi.pid');
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        writeFileSync(file, String(process.pid), { flag: 'wx' });
        return new DataDirLock(file);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const pid = Number.parseInt(readFileSync(file, 'utf8'), 10);
      if (Number.isInteger(pid) && pid !== process.pid && isAlive(pid)) {
        throw new DatabaseOpenError(
          `the embedded database in ${dir} is in use by process ${pid}; stop it, or set WADI_DATA_DIR to another directory, or use DATABASE_URL`,
        );
      }
      // A stale lock left by a process that died: take it over.
      rmSync(file, { force: true });
    }
    throw new DatabaseOpenError(`could not lock ${dir}`);
  }

  /** Gives the directory back. */
  release(): void {
    try {
      if (readFileSync(this.file, 'utf8') === String(process.pid)) rmSync(this.file, { force: true });
    } catch {
      // already gone
    }
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
