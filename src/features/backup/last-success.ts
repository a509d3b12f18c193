/**
 * The last successful backup, kept in the database (kv) so every replica, the CLI and the
 * BackupStale alert see the same value whoever made the backup.
 */
import type { Queryable } from '../../db/client.ts';

/** kv table key under which the backup feature records its last success: `{ at: ISO string, file }`. */
export const KV_BACKUP_LAST_SUCCESS = 'backup:last_success';

/** Stores `{at, file}` under KV_BACKUP_LAST_SUCCESS. */
export async function recordBackupSuccess(q: Queryable, at: Date, file: string): Promise<void> {
  await q.query(
    `insert into kv (key, value, updated_at) values ($1, $2::jsonb, now())
     on conflict (key) do update set value = excluded.value, updated_at = now()`,
    [KV_BACKUP_LAST_SUCCESS, JSON.stringify({ at: at.toISOString(), file })],
  );
}

/** The last recorded success: `at` is an ISO timestamp that parses; `file` when recorded. */
export interface BackupSuccess {
  readonly at: string;
  readonly file?: string;
}

/**
 * Reads the last recorded success, if any: the one reader of KV_BACKUP_LAST_SUCCESS (the scheduler,
 * the BackupStale alert and preflight all use it). A value without a parseable `at` counts as none.
 */
export async function lastBackupSuccess(q: Queryable): Promise<BackupSuccess | undefined> {
  const { rows } = await q.query<{ value: unknown }>('select value from kv where key = $1', [KV_BACKUP_LAST_SUCCESS]);
  const v = rows[0]?.value;
  const obj = (typeof v === 'string' ? JSON.parse(v) : v) as { at?: unknown; file?: unknown } | null | undefined;
  if (!obj || typeof obj.at !== 'string' || !Number.isFinite(Date.parse(obj.at))) return undefined;
  return typeof obj.file === 'string' ? { at: obj.at, file: obj.file } : { at: obj.at };
}
