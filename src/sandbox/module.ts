/**
 * The sandbox feature: in sandbox mode, mounts the fakes (fake Graph API under /sandbox/graph,
 * fake Bot API under /sandbox/telegram, fake OpenAI API under /sandbox/openai/v1) and the
 * outbox/faults routes into WADI's own server, so `npm start` needs no network.
 * Never active in production (config refuses it).
 */
import type { FastifyPluginAsync } from 'fastify';
import type { ModuleFactory } from '../app/module.ts';
import { SANDBOX_FAKES } from './fakes.ts';
import { sandboxRoutes } from './routes.ts';
import { SandboxState } from './state.ts';

/** Registry key of the process's SandboxState. */
export const SANDBOX_STATE_KEY = 'sandbox.state';

/** All sandbox routes as one plugin (also used standalone by `wadi sandbox`). */
export function sandboxPlugin(state: SandboxState): FastifyPluginAsync {
  return async (app) => {
    await app.register(sandboxRoutes(state));
    for (const fake of SANDBOX_FAKES) await app.register(fake(state));
  };
}

/** Mounts the sandbox when config.sandbox is on (web role only). */
export const sandboxModule: ModuleFactory = (ctx) => {
  if (!ctx.config.sandbox || ctx.role === 'worker') return { name: 'sandbox' };
  const state = new SandboxState();
  state.approvedTemplates = ctx.config.templates;
  ctx.registry.set(SANDBOX_STATE_KEY, state);
  return { name: 'sandbox', plugins: [sandboxPlugin(state)] };
};
