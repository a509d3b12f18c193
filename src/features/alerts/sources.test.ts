import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestDb, testDatabase } from '../../../test/helpers/db.ts';
import { CpuSampler, memoryPercent, readLimits } from '../../observability/metrics/resources.ts';
import { KV_BACKUP_LAST_SUCCESS } from '../backup/last-success.ts';
import { databaseSources } from './sources.ts';

describe('alert samples from the database', () => {
  let t: TestDb;
  beforeAll(async () => {
    t = await testDatabase();
  });
  afterAll(async () => {
    await t.drop();
  });

  it('measures the oldest pending inbound message, ignoring answered ones', async () => {
    const db = databaseSources(t.database);
    const now = Date.now();
    expect(await db.oldestPendingInboxSeconds(now)).toBeNull();
    const insert = (id: string, status: string, ageSeconds: number) =>
      t.database.query(
        `insert into inbox_messages (channel, external_id, chat_id, kind, event, status, received_at)
         values ('telegram', $1, '1', 'text', '{}'::jsonb, $2, $3)`,
        [id, status, new Date(now - ageSeconds * 1000).toISOString()],
      );
    await insert('update:1', 'done', 3600);
    await insert('update:2', 'pending', 400);
    await insert('update:3', 'processing', 120);
    expect(Math.round((await db.oldestPendingInboxSeconds(now)) ?? 0)).toBe(400);
  });

  it('counts finished sends, failures and token errors (190) in the window', async () => {
    const db = databaseSources(t.database);
    const now = Date.now();
    const insert = (status: string, ageSeconds: number, errorCode?: string) =>
      t.database.query(
        `insert into outbox_messages (channel, chat_id, body, status, error_code, created_at, failed_at, sent_at)
         values ('whatsapp', '34600000000', 'hola', $1, $2, $3, case when $1 = 'failed' then $3::timestamptz end,
                 case when $1 <> 'failed' then $3::timestamptz end)`,
        [status, errorCode ?? null, new Date(now - ageSeconds * 1000).toISOString()],
      );
    for (let i = 0; i < 6; i++) await insert('delivered', 60);
    await insert('failed', 120, '131047');
    await insert('failed', 100, '190');
    await insert('failed', 3600, '190'); // outside the 15-minute window
    await insert('pending', 10); // not finished yet
    expect(await db.outbound(now - 15 * 60_000)).toEqual({ total: 8, failed: 2, tokenInvalid: 1 });
    // The two outbound rules of one round ask for the same window: the second gets the first's
    // answer (one query per round); the next round's window is counted afresh.
    await insert('failed', 30, '190');
    expect(await db.outbound(now - 15 * 60_000)).toEqual({ total: 8, failed: 2, tokenInvalid: 1 });
    expect(await db.outbound(now + 10_000 - 15 * 60_000)).toEqual({ total: 9, failed: 3, tokenInvalid: 2 });
  });

  it('reads the last successful backup from the kv table', async () => {
    const db = databaseSources(t.database);
    expect(await db.backupRecorded()).toBeUndefined();
    const at = '2026-11-27T03:00:00.000Z';
    await t.database.query(`insert into kv (key, value) values ($1, $2::jsonb)`, [
      KV_BACKUP_LAST_SUCCESS,
      JSON.stringify({ at, file: 'wadi-2026-11-27.dump' }),
    ]);
    expect(await db.backupRecorded()).toBe(Date.parse(at));
  });
});

describe('container limits', () => {
  const machine = { cpus: 8, memory: 16 * 2 ** 30 };
  const dir = () => mkdtempSync(path.join(tmpdir(), 'wadi-cgroup-'));

  it('reads cgroup v2 cpu.max and memory.max', () => {
    const root = dir();
    writeFileSync(path.join(root, 'cpu.max'), '150000 100000\n');
    writeFileSync(path.join(root, 'memory.max'), `${512 * 2 ** 20}\n`);
    expect(readLimits(root, machine)).toEqual({ cpuCores: 1.5, memoryBytes: 512 * 2 ** 20, source: 'cgroup2' });
  });

  it('treats "max" as no limit and falls back to the machine', () => {
    const root = dir();
    writeFileSync(path.join(root, 'cpu.max'), 'max 100000\n');
    writeFileSync(path.join(root, 'memory.max'), 'max\n');
    expect(readLimits(root, machine)).toEqual({ cpuCores: 8, memoryBytes: machine.memory, source: 'cgroup2' });
  });

  it('reads cgroup v1 and ignores its "unlimited" huge number', () => {
    const root = dir();
    mkdirSync(path.join(root, 'cpu'));
    mkdirSync(path.join(root, 'memory'));
    writeFileSync(path.join(root, 'cpu', 'cpu.cfs_quota_us'), '200000\n');
    writeFileSync(path.join(root, 'cpu', 'cpu.cfs_period_us'), '100000\n');
    writeFileSync(path.join(root, 'memory', 'memory.limit_in_bytes'), '9223372036854771712\n');
    expect(readLimits(root, machine)).toEqual({ cpuCores: 2, memoryBytes: machine.memory, source: 'cgroup1' });
  });

  it('uses the machine without cgroup files', () => {
    expect(readLimits(dir(), machine)).toEqual({ cpuCores: 8, memoryBytes: machine.memory, source: 'machine' });
  });

  it('computes CPU share of the allowance between samples, and memory share of the limit', () => {
    let cpu = 0;
    let at = 0;
    const s = new CpuSampler(2, { cpuMicros: () => cpu, now: () => at });
    expect(s.sample()).toBeNull();
    cpu += 1_800_000; // 1.8 CPU-seconds over 1 s of wall time on a 2-core allowance
    at += 1000;
    expect(s.sample()).toBeCloseTo(90, 5);
    expect(memoryPercent(1000, () => 850)).toBe(85);
  });
});
