import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/config.ts';
import { recordBackupSuccess } from '../../src/features/backup/last-success.ts';
import { metrics } from '../../src/observability/metrics/metrics.ts';
import { tempDir } from '../helpers/cli.ts';
import { type TestDb, testDatabase } from '../helpers/db.ts';
import { startTestWadi, testConfig } from '../helpers/wadi.ts';

describe('backup module inside a running WADI', { timeout: 120_000 }, () => {
  let db: TestDb;
  beforeAll(async () => {
    db = await testDatabase();
  }, 180_000);
  afterAll(async () => {
    await db?.drop();
  });

  it('reports the last recorded backup (from any replica or the CLI) as the gauge on start', async () => {
    const at = new Date('2026-11-27T03:00:00.000Z');
    await recordBackupSuccess(db.database, at, '/backups/wadi-x.pgdump');
    const t = await startTestWadi(db.database, {
      env: { BACKUP_SCHEDULE: '0 3 * * *', BACKUP_DIR: tempDir('wadi-module-backups-') },
    });
    try {
      expect(t.wadi.modules.map((m) => m.name)).toContain('backup');
      await expect.poll(async () => (await metrics.backupLastSuccess.get()).values[0]?.value).toBe(at.getTime() / 1000);
    } finally {
      await t.stop();
    }
  });

  it('rejects an invalid BACKUP_SCHEDULE at configuration time', () => {
    expect(() => testConfig({ BACKUP_SCHEDULE: 'every night' })).toThrow(ConfigError);
    expect(() => testConfig({ BACKUP_SCHEDULE: 'every night' })).toThrow(
      /BACKUP_SCHEDULE: not a valid cron expression/,
    );
    expect(testConfig({ BACKUP_SCHEDULE: '30 2 * * 1-5' }).env.BACKUP_SCHEDULE).toBe('30 2 * * 1-5');
  });
});
