/**
 * The sandbox feature: in sandbox mode, mounts the fakes (fake Graph API under /sandbox/graph,
 * fake Bot API under /sandbox/telegram, fake OpenAI API under /sandbox/openai/v1) and the
 * outbox/faults routes into WADI's own server, so `npm start` needs no network.
 * Never active in production (config refuses it).
 */
import type { FastifyPluginAsync } from 'fastify';
import type { WadiModule } from '../kernel/module.ts';
import type { BackgroundService } from '../kernel/service.ts';
import type { ModuleContext } from '../platform/context.ts';
import { DeliveryReports } from './delivery-reports.ts';
import { SANDBOX_FAKES } from './fakes.ts';
import { sandboxRoutes } from './routes.ts';
import { SandboxState } from './state.ts';

/** All sandbox routes as one plugin (also used standalone by `wadi sandbox`). */
export function sandboxPlugin(state: SandboxState): FastifyPluginAsync {
  return async (app) => {
    await app.register(sandboxRoutes(state));
    for (const fake of SANDBOX_FAKES) await app.register(fake(state));
  };
}

/** The built sandbox: its contribution and, when active, its state (read by /admin/sandbox). */
export interface SandboxFeature {
  readonly module: WadiModule;
  readonly state?: SandboxState;
}

/** Mounts the sandbox when config.sandbox is on (web role only). */
export function sandboxModule(ctx: ModuleContext): SandboxFeature {
  if (!ctx.config.sandbox || ctx.role === 'worker') return { module: { name: 'sandbox' } };
  const state = new SandboxState();
  state.approvedTemplates = ctx.config.templates;
  const services: BackgroundService[] = [];
  const wa = ctx.config.whatsapp;
  if (wa) {
    // Statuses go to this process's own WhatsApp webhook, signed with the app secret it checks.
    const log = ctx.logger.child({ component: 'sandbox' });
    state.deliveryReports = new DeliveryReports({
      target: { url: () => `${ctx.localBaseUrl()}/webhooks/whatsapp`, appSecret: wa.appSecret },
      onError: (status, err) => log.warn({ status, err }, 'sandbox delivery-status webhook failed'),
    });
    services.push(state.deliveryReports);
  }
  return { module: { name: 'sandbox', plugins: [sandboxPlugin(state)], services }, state };
}
