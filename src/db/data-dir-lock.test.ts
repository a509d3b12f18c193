import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DataDirLock } from './data-dir-lock.ts';

describe('embedded data dir lock', () => {
  it('refuses a directory held by a live process, naming it', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'wadi-lock-'));
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 20000)']);
    try {
      writeFileSync(path.join(dir, 'wadi.pid'), String(child.pid));
      expect(() => DataDirLock.acquire(dir)).toThrow(new RegExp(`in use by process ${child.pid}`));
    } finally {
      child.kill();
    }
  });

  it('takes over a lock left by a dead process and gives it back', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'wadi-lock-'));
    writeFileSync(path.join(dir, 'wadi.pid'), '999999999');
    const lock = DataDirLock.acquire(dir);
    lock.release();
    DataDirLock.acquire(dir).release();
  });
});
