/**
 * `wadi start` says what it is doing, one line per step, so a first start's wait is never silent:
 * the dashboard, the database (here the embedded PGlite a newcomer gets), the migrations.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, spawnWadi, waitFor } from '../helpers/cli.ts';

const cwd = mkdtempSync(path.join(tmpdir(), 'wadi-startup-'));

async function startOnce(): Promise<string[]> {
  const port = await freePort();
  const p = spawnWadi(['start'], { cwd, env: { PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn' } });
  try {
    await waitFor(`http://127.0.0.1:${port}/health/ready`, { timeoutMs: 120_000 });
    await waitFor(`http://127.0.0.1:${port}/admin`, { timeoutMs: 10_000 });
  } catch (err) {
    p.child.kill('SIGKILL');
    throw new Error(`${(err as Error).message}\n${p.output()}`);
  }
  p.child.kill('SIGTERM');
  expect(await p.exited).toBe(0);
  return p.output().split('\n');
}

describe('wadi start progress lines', () => {
  afterAll(() => rmSync(cwd, { recursive: true, force: true }));

  it('prints the dashboard, database and migrations steps, each with its result, in order', async () => {
    const first = (await startOnce()).filter((l) => l.startsWith('wadi: '));
    expect(first.map((l) => l.split(/\s+/)[1])).toEqual(['dashboard', 'database', 'migrations']);
    expect(first[0]).toMatch(/dashboard +… (up to date|built)/);
    expect(first[1]).toMatch(new RegExp(`database +… embedded PGlite in ${cwd}/data \\(\\d+\\.\\d s\\)$`));
    expect(first[2]).toMatch(/migrations … [1-9]\d* applied \(\d+\.\d s\)$/);

    const second = (await startOnce()).filter((l) => l.startsWith('wadi: '));
    expect(second[2]).toMatch(/migrations … up to date \(\d+\.\d s\)$/);
  }, 300_000);
});
