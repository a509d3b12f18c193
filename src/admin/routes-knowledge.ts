/** GET /admin/knowledge: the synced documents, their chunk counts and the last sync. */
import type { FastifyPluginAsync } from 'fastify';
import { knowledgeStatus } from '../knowledge/status.ts';
import type { AdminContext } from './context.ts';
import { type KnowledgeView, knowledgeView } from './contract.ts';
import { responses } from './schemas.ts';

/** The route. */
export function knowledgeRoutes(a: AdminContext): FastifyPluginAsync {
  return async (app) => {
    app.get<{ Reply: KnowledgeView }>(
      '/admin/knowledge',
      {
        schema: {
          operationId: 'getKnowledge',
          summary: 'Documents of KNOWLEDGE_DIR the assistant can search: chunks per file and the last sync',
          tags: ['knowledge'],
          response: responses({ 200: knowledgeView }),
        },
      },
      async () => ({ configured: Boolean(a.ctx.config.env.KNOWLEDGE_DIR), ...(await knowledgeStatus(a.ctx.database)) }),
    );
  };
}
