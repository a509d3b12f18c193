/**
 * The features WADI runs, in the order they are built. Each entry is one line; a feature's
 * factory lives in its own folder.
 */
import { adminModule } from '../admin/module.ts';
import { telegramModule } from '../channels/telegram/module.ts';
import { whatsappModule } from '../channels/whatsapp/module.ts';
import { conversationModule } from '../conversation/module.ts';
import { securityModule } from '../http/security/module.ts';
import { inboxModule } from '../inbox/module.ts';
import { knowledgeModule } from '../knowledge/module.ts';
import { backupModule } from '../ops/backup/module.ts';
import { opsModule } from '../ops/module.ts';
import { sandboxModule } from '../sandbox/module.ts';
import type { ModuleFactory } from './module.ts';

/** Feature factories, in build order. */
export const MODULES: readonly ModuleFactory[] = [
  securityModule,
  opsModule,
  inboxModule,
  whatsappModule,
  telegramModule,
  knowledgeModule,
  conversationModule,
  backupModule,
  adminModule,
  sandboxModule,
];
