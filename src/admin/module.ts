/** The admin feature: /admin API and dashboard, mounted on processes that serve HTTP (not workers). */
import type { WadiModule } from '../kernel/module.ts';
import type { ModuleContext } from '../platform/context.ts';
import type { AdminDeps } from './context.ts';
import { type AdminOptions, adminPlugin } from './plugin.ts';

/** Mounts /admin (web and all roles) over the providers in `deps`. */
export function adminModule(ctx: ModuleContext, deps: AdminDeps, opts: AdminOptions = {}): WadiModule {
  if (ctx.role === 'worker') return { name: 'admin' };
  return { name: 'admin', plugins: [adminPlugin(ctx, deps, opts)] };
}
