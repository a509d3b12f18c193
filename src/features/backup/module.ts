/**
 * The backup feature inside a running WADI: scheduled backups on the leader (BACKUP_SCHEDULE),
 * retention, and the `wadi_backup_last_success_timestamp_seconds` gauge on every replica. Web-only
 * replicas keep the gauge but leave the dumping to worker replicas.
 */
import type { WadiModule } from '../../kernel/module.ts';
import type { ModuleContext } from '../../platform/context.ts';
import { type BackupSource, createBackup } from './backup.ts';
import { formatProgress } from './progress.ts';
import { BackupScheduler } from './scheduler.ts';

/** Builds the backup scheduler service. */
export function backupModule(ctx: ModuleContext): WadiModule {
  const env = ctx.config.env;
  const source: BackupSource = ctx.config.database.url
    ? { kind: 'postgres', url: ctx.config.database.url }
    : { kind: 'pglite-live', database: ctx.database };
  const scheduler = new BackupScheduler({
    schedule: ctx.role === 'web' ? undefined : env.BACKUP_SCHEDULE,
    database: ctx.database,
    dir: env.BACKUP_DIR,
    retentionDays: env.BACKUP_RETENTION_DAYS,
    logger: ctx.logger,
    runBackup: () =>
      createBackup(source, {
        dir: env.BACKUP_DIR,
        binDir: env.BACKUP_PG_BIN_DIR,
        onProgress: (e) => ctx.logger.debug({ progress: formatProgress(e) }, 'backup: progress'),
      }),
  });
  return { name: 'backup', services: [scheduler] };
}
