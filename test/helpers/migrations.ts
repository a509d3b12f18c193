/** The migration tags in migrations/meta/_journal.json, oldest first, and the latest one. */
import { readFileSync } from 'node:fs';
import path from 'node:path';

const journal = JSON.parse(
  readFileSync(path.resolve(import.meta.dirname, '../../migrations/meta/_journal.json'), 'utf8'),
) as { entries: { tag: string }[] };

/** Every migration tag, in order. */
export const MIGRATION_TAGS: readonly string[] = journal.entries.map((e) => e.tag);
/** The newest migration tag (what backup file names carry). */
export const LATEST_MIGRATION = MIGRATION_TAGS[MIGRATION_TAGS.length - 1];
