/** The security feature: one pre-plugin that hardens every route (see plugin.ts). */
import type { ModuleFactory } from '../../kernel/module.ts';
import { securityPlugin } from './plugin.ts';
import type { SheddingOptions } from './shedding.ts';

/** A security module with non-default shedding tuning (tests). */
export function securityModuleWith(opts: SheddingOptions): ModuleFactory {
  return (ctx) => ({ name: 'security', prePlugins: [securityPlugin(ctx.config, opts)] });
}

/** Registers the security pre-plugin for the web role. */
export const securityModule: ModuleFactory = securityModuleWith({});
