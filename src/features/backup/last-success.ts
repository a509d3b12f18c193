/**
 * The last successful backup, kept in the database (kv) so every replica, the CLI and the
 * BackupStale alert see the same value whoever made the backup.
 */
import { KV_BACKUP_LAST_SUCCESS } from '../../app/shared.ts';
import type { Queryable } from '../../db/client.ts';

/** Stores `{at, file}` under KV_BACKUP_LAST_SUCCESS. */
export async function recordBackupSuccess(q: Queryable, at: Date, file: string): Promise<void> {
  await q.query(
    `insert into kv (key, value, updated_at) values ($1, $2::jsonb, now())
     on conflict (key) do update set value = excluded.value, updated_at = now()`,
    [KV_BACKUP_LAST_SUCCESS, JSON.stringify({ at: at.toISOString(), file })],
  );
}

/** Reads the last recorded success, if any. */
export async function lastBackupSuccess(q: Queryable): Promise<{ at: string; file: string } | undefined> {
  const { rows } = await q.query<{ value: unknown }>('select value from kv where key = $1', [KV_BACKUP_LAST_SUCCESS]);
  const v = rows[0]?.value;
  const obj = (typeof v === 'string' ? JSON.parse(v) : v) as { at?: unknown; file?: unknown } | undefined;
  return obj && typeof obj.at === 'string' && typeof obj.file === 'string' ? { at: obj.at, file: obj.file } : undefined;
}
