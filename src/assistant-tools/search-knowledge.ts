/**
 * The built-in `search_knowledge` tool: full-text search over the operator's documents
 * (KNOWLEDGE_DIR). The top chunks come back with the file they came from, so the answer can cite it.
 */
import type { Queryable } from '../db/client.ts';
import type { SearchLanguage } from '../knowledge/language.ts';
import { searchKnowledge } from '../knowledge/search.ts';
import { capResult, type Tool } from './types.ts';

/** The tool's name (CONTRACT.md). */
export const SEARCH_KNOWLEDGE = 'search_knowledge';

/** Builds the tool over `db` in `language`. */
export function searchKnowledgeTool(db: Queryable, language: SearchLanguage): Tool {
  return {
    definition: {
      name: SEARCH_KNOWLEDGE,
      description:
        "Search the business's own documents (FAQ, policies, menus, opening hours, prices). Returns the most relevant passages with their source file; cite the source when you use one.",
      parameters: {
        type: 'object',
        properties: {
          query: { type: 'string', description: 'What to look for, in the words of the documents' },
          limit: { type: 'integer', minimum: 1, maximum: 10, description: 'How many passages (default 3)' },
        },
        required: ['query'],
        additionalProperties: false,
      },
    },
    async call(args) {
      const query = typeof args.query === 'string' ? args.query : '';
      if (!query.trim())
        return { outcome: 'error', content: JSON.stringify({ error: 'query must be a non-empty string' }) };
      const limit = typeof args.limit === 'number' && Number.isInteger(args.limit) ? args.limit : 3;
      const hits = await searchKnowledge(db, { query, language, limit });
      return {
        outcome: 'ok',
        content: capResult(
          JSON.stringify(
            hits.length > 0
              ? { results: hits.map((h) => ({ source: h.source, text: h.text })) }
              : { results: [], note: 'nothing in the documents matches; say you do not know rather than guess' },
          ),
        ),
      };
    },
  };
}
