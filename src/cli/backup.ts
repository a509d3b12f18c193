/** `wadi backup [--out DIR]`, `wadi backup verify FILE`, `wadi restore FILE [--force]`. */
import path from 'node:path';
import type { Command } from 'commander';
import type { Config } from '../config/config.ts';
import type { BackupSource, RestoreTarget } from '../features/backup/backup.ts';
import { checksumPath } from '../features/backup/naming.ts';
import { formatBytes, formatProgress, type ProgressEvent } from '../features/backup/progress.ts';
import { configOrExit } from './common.ts';

/** Prints progress to stderr: in place on a terminal, every few seconds otherwise (CI, kubectl logs). */
function progressPrinter(): (e: ProgressEvent) => void {
  const tty = process.stderr.isTTY;
  let last = Number.NEGATIVE_INFINITY;
  return (e) => {
    const now = performance.now();
    if (!tty && now - last < 5000) return;
    last = now;
    process.stderr.write(tty ? `\r${formatProgress(e)}\x1b[K` : `${formatProgress(e)}\n`);
  };
}

function endProgress(): void {
  if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
}

function sourceOf(config: Config): BackupSource {
  return config.database.url
    ? { kind: 'postgres', url: config.database.url }
    : { kind: 'pglite-dir', dataDir: config.database.dataDir };
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}

/** Registers the commands. */
export function registerBackup(program: Command): void {
  const backup = program
    .command('backup')
    .description(
      'dump the database into BACKUP_DIR (or --out) with a checksum and a manifest; "backup verify FILE" checks one',
    )
    .option('--out <dir>', 'directory to write to (default: BACKUP_DIR)')
    .action(async (opts: { out?: string }) => {
      const config = configOrExit();
      const { createBackup } = await import('../features/backup/backup.ts');
      const r = await createBackup(sourceOf(config), {
        dir: opts.out ?? config.env.BACKUP_DIR,
        binDir: config.env.BACKUP_PG_BIN_DIR,
        onProgress: progressPrinter(),
      });
      endProgress();
      const m = r.manifest;
      const rows = Object.values(m.tables).reduce((a, b) => a + b, 0);
      process.stdout.write(
        [
          `backup written: ${r.file}`,
          `  size:     ${formatBytes(m.bytes)} in ${seconds(m.durationMs)}`,
          `  schema:   ${m.schemaVersion} (${m.migrations.length} migrations)`,
          `  rows:     ${rows} in ${Object.keys(m.tables).length} tables`,
          `  checksum: ${checksumPath(r.file)}`,
          `  manifest: ${r.manifestFile}`,
          '',
        ].join('\n'),
      );
    });

  backup
    .command('verify')
    .description('restore FILE into a scratch database, compare with its manifest, drop it; exit 1 on any difference')
    .argument('<file>', 'the dump (.pgdump or .pglite.tar.gz) with its sidecar files beside it')
    .exitOverride()
    .action(async (file: string) => {
      const config = configOrExit();
      const { verifyBackup } = await import('../features/backup/backup.ts');
      const r = await verifyBackup(path.resolve(file), {
        databaseUrl: config.database.url,
        binDir: config.env.BACKUP_PG_BIN_DIR,
        onProgress: progressPrinter(),
      });
      endProgress();
      const m = r.manifest;
      const rows = Object.values(r.state.tables).reduce((a, b) => a + b, 0);
      process.stdout.write(
        [
          `backup OK: ${path.basename(file)}`,
          `  checksum:   ok (sha256 ${m.sha256.slice(0, 16)}…)`,
          `  migrations: ok (${m.migrations.length} applied, latest ${m.schemaVersion})`,
          `  rows:       ok (${rows} rows in ${Object.keys(r.state.tables).length} tables match the manifest)`,
          `  restore took ${seconds(r.restoreMs)} (the measured recovery time for this backup)`,
          '',
        ].join('\n'),
      );
      for (const w of r.warnings) process.stderr.write(`warning: ${w}\n`);
    });

  program
    .command('restore')
    .description('restore FILE into the configured database (refuses a non-empty one unless --force)')
    .argument('<file>', 'the dump (.pgdump or .pglite.tar.gz) with its sidecar files beside it')
    .option('--force', 'replace a database that already holds data')
    .action(async (file: string, opts: { force?: boolean }) => {
      const config = configOrExit();
      const target: RestoreTarget = config.database.url
        ? { kind: 'postgres', url: config.database.url }
        : { kind: 'pglite', dataDir: config.database.dataDir };
      const { restoreBackup } = await import('../features/backup/backup.ts');
      const r = await restoreBackup(path.resolve(file), target, {
        force: opts.force,
        binDir: config.env.BACKUP_PG_BIN_DIR,
        onProgress: progressPrinter(),
      });
      endProgress();
      const rows = Object.values(r.manifest.tables).reduce((a, b) => a + b, 0);
      const lines = [
        `restored ${path.basename(file)} in ${seconds(r.restoreMs)}: ${rows} rows, schema ${r.manifest.schemaVersion}`,
      ];
      if (r.keptAs) lines.push(`  the previous embedded database was kept in ${r.keptAs}`);
      lines.push('  start WADI: migrations newer than the backup are applied on start', '');
      process.stdout.write(lines.join('\n'));
    });
}
