/**
 * The features WADI runs, in the order they are built. Each entry is one line; a feature's
 * factory lives in its own folder.
 */
import { adminModule } from '../admin/module.ts';
import { inboxModule } from '../inbox/module.ts';
import { sandboxModule } from '../sandbox/module.ts';
import type { ModuleFactory } from './module.ts';

/** Feature factories, in build order. */
export const MODULES: readonly ModuleFactory[] = [inboxModule, sandboxModule, adminModule];
