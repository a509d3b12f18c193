/**
 * `wadi knowledge sync`: makes the database's knowledge match KNOWLEDGE_DIR. Each file's SHA-256
 * (with the search language) decides whether it is read again; changed files are re-chunked and
 * replaced in one transaction each (a search never sees half a file); files that are gone are
 * deleted. A file that cannot be read is reported and keeps its previous version, if any. Runs
 * under an advisory lock so replicas syncing at the same time do not interleave.
 */
import { createHash } from 'node:crypto';
import { type Dirent, promises as fs } from 'node:fs';
import path from 'node:path';
import type { Database } from '../db/client.ts';
import { chunkText } from './chunk.ts';
import { extractDocumentText, isKnowledgeFile } from './extract.ts';
import type { SearchLanguage } from './language.ts';

/** Advisory lock key of the sync ("WADIKNOW" folded into 32 bits). */
export const KNOWLEDGE_LOCK_KEY = 0x574b4e57;

/** What happened to one file. */
export type FileOutcome = 'added' | 'updated' | 'unchanged' | 'removed' | 'failed';

/** Reported once per file, as the sync goes. */
export interface SyncProgress {
  readonly path: string;
  readonly outcome: FileOutcome;
  readonly chunks?: number;
  readonly error?: string;
}

/** Totals of one sync. */
export interface SyncSummary {
  readonly added: number;
  readonly updated: number;
  readonly unchanged: number;
  readonly removed: number;
  readonly failed: number;
  readonly errors: readonly { path: string; error: string }[];
}

/** KNOWLEDGE_DIR is missing or not a folder. */
export class KnowledgeDirError extends Error {
  readonly code = 'KNOWLEDGE_DIR_UNREADABLE';
  constructor(message: string) {
    super(message);
    this.name = 'KnowledgeDirError';
  }
}

/** Sync settings. */
export interface SyncOptions {
  readonly database: Database;
  readonly dir: string;
  readonly language: SearchLanguage;
  /** Files larger than this are reported as failed, not read. */
  readonly maxFileBytes: number;
  /** What started the sync (cli, start, schedule): kept with the run. */
  readonly trigger: string;
  readonly onProgress?: (p: SyncProgress) => void;
  /** Stops between files (shutdown); nothing is removed by a sync that did not see every file. */
  readonly signal?: AbortSignal;
}

/** Runs one sync to completion. */
export async function syncKnowledge(opts: SyncOptions): Promise<SyncSummary> {
  const root = path.resolve(opts.dir);
  const files = await listFiles(root);
  return opts.database.withAdvisoryLock(KNOWLEDGE_LOCK_KEY, async () => {
    const startedAt = new Date();
    const counts = { added: 0, updated: 0, unchanged: 0, removed: 0, failed: 0 };
    const errors: { path: string; error: string }[] = [];
    const report = (p: SyncProgress) => {
      counts[p.outcome] += 1;
      if (p.error) errors.push({ path: p.path, error: p.error });
      opts.onProgress?.(p);
    };
    const { rows } = await opts.database.query<{ id: number; path: string; content_hash: string; language: string }>(
      'select id, path, content_hash, language from knowledge_sources',
    );
    const known = new Map(rows.map((r) => [r.path, r]));

    for (const rel of files) {
      opts.signal?.throwIfAborted();
      const previous = known.get(rel);
      known.delete(rel);
      try {
        const stat = await fs.stat(path.join(root, rel));
        if (stat.size > opts.maxFileBytes) {
          throw new Error(`${stat.size} bytes is over the ${opts.maxFileBytes}-byte limit (KNOWLEDGE_MAX_FILE_BYTES)`);
        }
        const bytes = await fs.readFile(path.join(root, rel));
        const hash = createHash('sha256').update(bytes).digest('hex');
        if (previous && previous.content_hash === hash && previous.language === opts.language) {
          report({ path: rel, outcome: 'unchanged' });
          continue;
        }
        const chunks = chunkText(await extractDocumentText(rel, bytes));
        await opts.database.transaction(async (tx) => {
          const { rows: src } = await tx.query<{ id: number }>(
            `insert into knowledge_sources (path, content_hash, language, bytes, chunk_count, synced_at)
             values ($1, $2, $3, $4, $5, now())
             on conflict (path) do update set content_hash = excluded.content_hash, language = excluded.language,
               bytes = excluded.bytes, chunk_count = excluded.chunk_count, synced_at = now()
             returning id`,
            [rel, hash, opts.language, bytes.length, chunks.length],
          );
          const id = src[0].id;
          await tx.query('delete from knowledge_chunks where source_id = $1', [id]);
          for (let i = 0; i < chunks.length; i++) {
            await tx.query(
              `insert into knowledge_chunks (source_id, ord, content, tsv)
               values ($1, $2, $3, to_tsvector($4::regconfig, $3))`,
              [id, i, chunks[i], opts.language],
            );
          }
        });
        report({ path: rel, outcome: previous ? 'updated' : 'added', chunks: chunks.length });
      } catch (err) {
        report({ path: rel, outcome: 'failed', error: (err as Error).message });
      }
    }

    opts.signal?.throwIfAborted();
    for (const gone of known.values()) {
      await opts.database.query('delete from knowledge_sources where id = $1', [gone.id]);
      report({ path: gone.path, outcome: 'removed' });
    }
    await opts.database.query(
      `insert into knowledge_syncs (started_at, trigger, added, updated, unchanged, removed, failed, errors)
       values ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [
        startedAt,
        opts.trigger,
        counts.added,
        counts.updated,
        counts.unchanged,
        counts.removed,
        counts.failed,
        JSON.stringify(errors),
      ],
    );
    // Keep the run history short: the admin page shows the last run.
    await opts.database.query(
      'delete from knowledge_syncs where id not in (select id from knowledge_syncs order by id desc limit 50)',
    );
    return { ...counts, errors };
  });
}

/** Every readable knowledge file under `root`, relative with forward slashes, sorted. Hidden
 * files and folders (".git", ".DS_Store") and symbolic links are skipped. */
async function listFiles(root: string): Promise<string[]> {
  let entries: Dirent[];
  try {
    const stat = await fs.stat(root);
    if (!stat.isDirectory()) throw new KnowledgeDirError(`KNOWLEDGE_DIR ${root} is not a folder`);
    entries = await fs.readdir(root, { recursive: true, withFileTypes: true });
  } catch (err) {
    if (err instanceof KnowledgeDirError) throw err;
    throw new KnowledgeDirError(`cannot read KNOWLEDGE_DIR ${root}: ${(err as Error).message}`);
  }
  const out: string[] = [];
  for (const e of entries) {
    if (!e.isFile() || !isKnowledgeFile(e.name)) continue;
    const rel = path.relative(root, path.join(e.parentPath, e.name));
    if (rel.split(path.sep).some((part) => part.startsWith('.'))) continue;
    out.push(rel.split(path.sep).join('/'));
  }
  return out.sort();
}

/** One line per file for `wadi knowledge sync` and the logs. */
export function formatProgress(p: SyncProgress): string {
  const extra = p.error
    ? `: ${p.error}`
    : p.chunks !== undefined
      ? ` (${p.chunks} ${p.chunks === 1 ? 'chunk' : 'chunks'})`
      : '';
  return `${p.outcome.padEnd(9)} ${p.path}${extra}`;
}
