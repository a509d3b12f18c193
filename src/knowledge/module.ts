/**
 * Knowledge as a WADI feature: on processes that answer (roles all and worker) a sync when the
 * process starts and on KNOWLEDGE_SYNC_SCHEDULE; nothing at all when KNOWLEDGE_DIR is unset.
 * GET /admin/knowledge (src/admin/routes-knowledge.ts) reads the tables on any role.
 */
import type { WadiModule } from '../kernel/module.ts';
import type { ModuleContext } from '../platform/context.ts';
import { searchLanguage } from './language.ts';
import { KnowledgeScheduler } from './scheduler.ts';

/** Builds the knowledge sync service; `scheduler` is exposed for tests and tools. */
export function knowledgeModule(ctx: ModuleContext): { module: WadiModule; scheduler?: KnowledgeScheduler } {
  const env = ctx.config.env;
  if (!env.KNOWLEDGE_DIR || ctx.role === 'web') return { module: { name: 'knowledge' } };
  const scheduler = new KnowledgeScheduler({
    sync: {
      database: ctx.database,
      dir: env.KNOWLEDGE_DIR,
      language: searchLanguage(env.ASSISTANT_LOCALE),
      maxFileBytes: env.KNOWLEDGE_MAX_FILE_BYTES,
    },
    schedule: env.KNOWLEDGE_SYNC_SCHEDULE,
    logger: ctx.logger.child({ component: 'knowledge' }),
  });
  return { module: { name: 'knowledge', services: [scheduler] }, scheduler };
}
