/**
 * Full-text search over the knowledge chunks with PostgreSQL's own `tsvector` (GIN index): the same
 * SQL on PGlite and PostgreSQL, no extra service. The question's words are OR-ed (a user's question
 * rarely shares every word with the answer) and the chunks ranked by `ts_rank`.
 */
import type { Queryable } from '../db/client.ts';
import { cleanText } from '../kernel/text.ts';
import type { SearchLanguage } from './language.ts';

/** One chunk found, with the file it came from. */
export interface KnowledgeHit {
  readonly source: string;
  readonly chunk: number;
  readonly text: string;
  readonly rank: number;
}

/** Longest query text considered (longer questions are cut, not refused). */
const MAX_QUERY_CHARS = 1000;

/** The best `limit` chunks for `query`; empty when nothing matches or the query has no words. */
export async function searchKnowledge(
  db: Queryable,
  opts: { query: string; language: SearchLanguage; limit?: number },
): Promise<KnowledgeHit[]> {
  const query = cleanText(opts.query.slice(0, MAX_QUERY_CHARS));
  const limit = Math.min(Math.max(opts.limit ?? 3, 1), 10);
  const { rows } = await db.query<{ path: string; ord: number; content: string; rank: number }>(
    `with q as (
       select nullif(replace(plainto_tsquery($1::regconfig, $2)::text, ' & ', ' | '), '') as t
     )
     select s.path, c.ord, c.content, ts_rank(c.tsv, q.t::tsquery)::float8 as rank
     from q, knowledge_chunks c join knowledge_sources s on s.id = c.source_id
     where q.t is not null and c.tsv @@ q.t::tsquery
     order by rank desc, c.id
     limit $3`,
    [opts.language, query, limit],
  );
  return rows.map((r) => ({ source: r.path, chunk: Number(r.ord), text: r.content, rank: Number(r.rank) }));
}
