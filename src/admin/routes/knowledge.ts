/** GET /admin/knowledge: the synced documents, their chunk counts and the last sync. */
import type { FastifyPluginAsync } from 'fastify';
import { knowledgeStatus } from '../../knowledge/status.ts';
import type { AdminContext } from '../context.ts';
import { instant, responses } from '../schemas.ts';

const counts = ['added', 'updated', 'unchanged', 'removed', 'failed'] as const;

/** The route. */
export function knowledgeRoutes(a: AdminContext): FastifyPluginAsync {
  return async (app) => {
    app.get(
      '/admin/knowledge',
      {
        schema: {
          operationId: 'getKnowledge',
          summary: 'Documents of KNOWLEDGE_DIR the assistant can search: chunks per file and the last sync',
          tags: ['knowledge'],
          response: responses({
            200: {
              type: 'object',
              properties: {
                configured: { type: 'boolean' },
                sources: {
                  type: 'array',
                  items: {
                    type: 'object',
                    properties: {
                      path: { type: 'string' },
                      bytes: { type: 'integer' },
                      chunks: { type: 'integer' },
                      language: { type: 'string' },
                      syncedAt: instant,
                    },
                  },
                },
                totalChunks: { type: 'integer' },
                lastSync: {
                  type: 'object',
                  nullable: true,
                  properties: {
                    trigger: { type: 'string' },
                    startedAt: instant,
                    finishedAt: instant,
                    ...Object.fromEntries(counts.map((c) => [c, { type: 'integer' }])),
                    errors: {
                      type: 'array',
                      items: { type: 'object', properties: { path: { type: 'string' }, error: { type: 'string' } } },
                    },
                  },
                },
              },
            },
          }),
        },
      },
      async () => ({ configured: Boolean(a.ctx.config.env.KNOWLEDGE_DIR), ...(await knowledgeStatus(a.ctx.database)) }),
    );
  };
}
