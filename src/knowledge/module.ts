/**
 * Knowledge as a WADI feature: on processes that answer (roles all and worker) a sync when the
 * process starts and on KNOWLEDGE_SYNC_SCHEDULE; nothing at all when KNOWLEDGE_DIR is unset.
 * GET /admin/knowledge (src/admin/routes/knowledge.ts) reads the tables on any role.
 */
import type { ModuleFactory } from '../app/module.ts';
import { searchLanguage } from './language.ts';
import { KnowledgeScheduler } from './scheduler.ts';

/** Registry key of the scheduler (tests trigger a sync through it). */
export const KNOWLEDGE_SCHEDULER_KEY = 'knowledge.scheduler';

/** Builds the knowledge sync service. */
export const knowledgeModule: ModuleFactory = (ctx) => {
  const env = ctx.config.env;
  if (!env.KNOWLEDGE_DIR || ctx.role === 'web') return { name: 'knowledge' };
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
  ctx.registry.set(KNOWLEDGE_SCHEDULER_KEY, scheduler);
  return { name: 'knowledge', services: [scheduler] };
};
