/** Backups: a schedule is configured and the last successful backup (kv, written by the backup
 * feature) is recent for that schedule. */
import { Cron } from 'croner';
import { lastBackupSuccess } from '../../../features/backup/last-success.ts';
import type { CheckResult, PreflightContext } from './types.ts';
import { section } from './types.ts';

const s = section('Backups');
const DAY_MS = 86_400_000;

/** The Backups section; needs `ctx.database` from the Database section. */
export async function backupChecks(ctx: PreflightContext): Promise<CheckResult[]> {
  const schedule = ctx.opts.env.BACKUP_SCHEDULE?.trim();
  const out: CheckResult[] = [];
  // A backup older than two intervals of the schedule means at least one run was missed.
  let maxAgeMs = 2 * DAY_MS;
  if (!schedule) {
    out.push(
      s.fail(
        'schedule',
        'BACKUP_SCHEDULE is not set: no automatic backups',
        'set BACKUP_SCHEDULE, e.g. "0 3 * * *" (daily at 03:00)',
      ),
    );
  } else {
    try {
      const [a, b] = new Cron(schedule, { paused: true }).nextRuns(2, ctx.now());
      if (!a || !b) throw new Error('it never runs');
      maxAgeMs = Math.max(2 * (b.getTime() - a.getTime()), 3_600_000);
      out.push(s.pass('schedule', `"${schedule}", next run ${a.toISOString()}`));
    } catch (err) {
      out.push(
        s.fail(
          'schedule',
          `BACKUP_SCHEDULE "${schedule}" is invalid: ${(err as Error).message}`,
          'use a 5-field cron expression, e.g. "0 3 * * *"',
        ),
      );
    }
  }
  if (!ctx.database) {
    out.push(s.fail('last backup', 'cannot be read: the database is not reachable', 'fix the Database items first'));
    return out;
  }
  try {
    const value = await lastBackupSuccess(ctx.database);
    const at = value ? new Date(value.at) : undefined;
    if (!at) {
      out.push(s.fail('last backup', 'no successful backup recorded', 'run `wadi backup` and check it succeeds'));
    } else {
      const age = ctx.now().getTime() - at.getTime();
      const hours = (age / 3_600_000).toFixed(1);
      out.push(
        age <= maxAgeMs
          ? s.pass('last backup', `${hours} h ago (${value?.file ?? 'file not recorded'})`)
          : s.fail(
              'last backup',
              `${hours} h ago, older than ${(maxAgeMs / 3_600_000).toFixed(0)} h allowed by the schedule`,
              'check the backup logs and run `wadi backup` now',
            ),
      );
    }
  } catch (err) {
    out.push(
      s.fail('last backup', `cannot be read: ${(err as Error).message}`, 'check the database migrations are applied'),
    );
  }
  return out;
}
