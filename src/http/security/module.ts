/** The security feature: one pre-plugin that hardens every route (see plugin.ts). */
import type { WadiModule } from '../../kernel/module.ts';
import type { ModuleContext } from '../../platform/context.ts';
import { securityPlugin } from './plugin.ts';
import type { SheddingOptions } from './shedding.ts';

/** Registers the security pre-plugin; `opts` tunes load shedding (tests). */
export function securityModule(ctx: ModuleContext, opts: SheddingOptions = {}): WadiModule {
  return { name: 'security', prePlugins: [securityPlugin(ctx.config, opts)] };
}
