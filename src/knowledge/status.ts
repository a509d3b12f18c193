/** What GET /admin/knowledge shows: the sources with their chunk counts, and the last sync run. */
import type { Queryable } from '../db/client.ts';

/** One synced file. */
export interface KnowledgeSourceView {
  readonly path: string;
  readonly bytes: number;
  readonly chunks: number;
  readonly language: string;
  readonly syncedAt: string;
}

/** The last sync run. */
export interface KnowledgeSyncView {
  readonly trigger: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly added: number;
  readonly updated: number;
  readonly unchanged: number;
  readonly removed: number;
  readonly failed: number;
  readonly errors: { path: string; error: string }[];
}

/** Sources (by path) and the last run. */
export async function knowledgeStatus(db: Queryable): Promise<{
  sources: KnowledgeSourceView[];
  totalChunks: number;
  lastSync: KnowledgeSyncView | null;
}> {
  const { rows } = await db.query<{
    path: string;
    bytes: string;
    chunk_count: number;
    language: string;
    synced_at: Date;
  }>('select path, bytes, chunk_count, language, synced_at from knowledge_sources order by path');
  const { rows: runs } = await db.query<{
    trigger: string;
    started_at: Date;
    finished_at: Date;
    added: number;
    updated: number;
    unchanged: number;
    removed: number;
    failed: number;
    errors: { path: string; error: string }[];
  }>('select * from knowledge_syncs order by id desc limit 1');
  const sources = rows.map((r) => ({
    path: r.path,
    bytes: Number(r.bytes),
    chunks: Number(r.chunk_count),
    language: r.language,
    syncedAt: new Date(r.synced_at).toISOString(),
  }));
  const run = runs[0];
  return {
    sources,
    totalChunks: sources.reduce((s, r) => s + r.chunks, 0),
    lastSync: run
      ? {
          trigger: run.trigger,
          startedAt: new Date(run.started_at).toISOString(),
          finishedAt: new Date(run.finished_at).toISOString(),
          added: run.added,
          updated: run.updated,
          unchanged: run.unchanged,
          removed: run.removed,
          failed: run.failed,
          errors: typeof run.errors === 'string' ? JSON.parse(run.errors) : run.errors,
        }
      : null,
  };
}
