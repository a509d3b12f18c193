/** The admin feature: /admin API and dashboard, mounted on processes that serve HTTP (not workers). */
import type { ModuleFactory } from '../kernel/module.ts';
import { type AdminOptions, adminPlugin } from './plugin.ts';

/** An admin module with non-default limits (tests). */
export function adminModuleWith(opts: AdminOptions): ModuleFactory {
  return (ctx) => {
    if (ctx.role === 'worker') return { name: 'admin' };
    return { name: 'admin', plugins: [adminPlugin(ctx, opts)] };
  };
}

/** Mounts /admin (web and all roles). */
export const adminModule: ModuleFactory = adminModuleWith({});
