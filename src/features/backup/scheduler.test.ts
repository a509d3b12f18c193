import { readdirSync } from 'node:fs';
import pino from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../../test/helpers/cli.ts';
import { ManualTimerClock } from '../../../test/helpers/clock.ts';
import { type TestDb, testDatabase } from '../../../test/helpers/db.ts';
import { type Database, openDatabase } from '../../db/client.ts';
import { metrics } from '../../observability/metrics/metrics.ts';
import { type BackupSource, createBackup } from './backup.ts';
import { lastBackupSuccess } from './last-success.ts';
import { kindOf } from './naming.ts';
import { BACKUP_LOCK_KEY, BackupScheduler } from './scheduler.ts';

const logger = pino({ level: 'silent' });

// Generous timeouts: an in-memory PGlite takes seconds of CPU to open on a busy machine.
describe('scheduled backups', { timeout: 120_000 }, () => {
  let test: TestDb;
  let replicaB: Database;
  let source: BackupSource;

  beforeAll(async () => {
    test = await testDatabase();
    // A second replica: its own connection pool on the same PostgreSQL database (PGlite is one process).
    replicaB = test.url ? await openDatabase({ url: test.url, poolSize: 2 }) : test.database;
    source = test.url ? { kind: 'postgres', url: test.url } : { kind: 'pglite-live', database: test.database };
  }, 180_000);
  // Each test starts with no recorded success (the first one records one in the fake future).
  beforeEach(async () => {
    await test.database.query('delete from kv');
  });
  afterAll(async () => {
    if (replicaB !== test.database) await replicaB.close();
    await test.drop();
  });

  function scheduler(database: Database, clock: ManualTimerClock, dir: string, calls: { n: number }) {
    return new BackupScheduler({
      schedule: '0 2 * * *',
      database,
      dir,
      retentionDays: 30,
      logger,
      clock,
      runBackup: () => {
        calls.n++;
        return createBackup(source, { dir, now: () => new Date(clock.now()) });
      },
    });
  }

  it('fires at the slot on the leader only: two replicas, one backup, gauge and kv set', async () => {
    // Real "now" so the files' mtimes are not pruned as future/past relative to the hand-moved clock.
    const start = new Date();
    start.setUTCHours(1, 59, 59, 0);
    if (start.getTime() < Date.now() - 86_400_000) start.setTime(start.getTime() + 86_400_000);
    const clock = new ManualTimerClock(start.getTime());
    const dir = tempDir('wadi-sched-');
    const calls = { n: 0 };
    const a = scheduler(test.database, clock, dir, calls);
    const b = scheduler(replicaB, clock, dir, calls);
    a.start();
    b.start();
    try {
      expect(a.nextSlot()?.toISOString()).toMatch(/T02:00:00\.000Z$/);
      clock.advance(500);
      await Promise.all([a.idle(), b.idle()]);
      expect(readdirSync(dir)).toHaveLength(0); // not yet 02:00
      clock.advance(1000);
      await Promise.all([a.idle(), b.idle()]);
      const dumps = readdirSync(dir).filter((n) => kindOf(n));
      expect(dumps).toHaveLength(1);
      expect(calls.n).toBe(1);
      const last = await lastBackupSuccess(test.database);
      expect(last?.at).toBe(new Date(start.getTime() + 1500).toISOString());
      expect((await metrics.backupLastSuccess.get()).values[0]?.value).toBe(
        Math.floor((start.getTime() + 1500) / 1000),
      );
      // The next day's slot makes the next backup.
      clock.advance(86_400_000);
      await Promise.all([a.idle(), b.idle()]);
      expect(readdirSync(dir).filter((n) => kindOf(n))).toHaveLength(2);
      expect(calls.n).toBe(2);
    } finally {
      await a.stop();
      await b.stop();
    }
  });

  it('a replica that cannot take the leader lock skips the slot; a slot already covered is not repeated', async () => {
    const clock = new ManualTimerClock(Date.now());
    const dir = tempDir('wadi-sched-');
    const calls = { n: 0 };
    const s = scheduler(test.database, clock, dir, calls);
    const held = await replicaB.tryAdvisoryLock(BACKUP_LOCK_KEY);
    expect(held).not.toBeNull();
    try {
      expect(await s.runSlot(new Date(clock.now()))).toBe('not_leader');
      expect(calls.n).toBe(0);
    } finally {
      await held?.release();
    }
    expect(await s.runSlot(new Date(clock.now()))).toBe('backed_up');
    // Same slot again (another replica's timer firing late): covered by the recorded success.
    expect(await s.runSlot(new Date(clock.now() - 1000))).toBe('already_done');
    expect(calls.n).toBe(1);
  });

  it('a failing backup is logged and reported as failed, and the schedule keeps going', async () => {
    const clock = new ManualTimerClock(Date.now());
    const s = new BackupScheduler({
      schedule: '*/5 * * * *',
      database: test.database,
      dir: tempDir(),
      retentionDays: 30,
      logger,
      clock,
      runBackup: () => Promise.reject(new Error('disk full')),
    });
    expect(await s.runSlot(new Date(clock.now() + 3_600_000))).toBe('failed');
    expect(
      () =>
        new BackupScheduler({
          schedule: 'every day',
          database: test.database,
          dir: '.',
          retentionDays: 1,
          logger,
          runBackup: () => Promise.reject(new Error()),
        }),
    ).toThrow(/BACKUP_SCHEDULE "every day"/);
  });
});
