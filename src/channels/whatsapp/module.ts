/**
 * The WhatsApp feature: the Graph API sender (every role: workers send replies) and, outside the
 * worker role, the webhook routes. In sandbox mode the client talks to the in-process fake.
 */
import type { HealthCheck } from '../../kernel/health.ts';
import type { WadiModule } from '../../kernel/module.ts';
import type { ModuleContext } from '../../platform/context.ts';
import type { ChannelSender, InboundStore } from '../types.ts';
import { GraphClient } from './client.ts';
import { graphApiCheck } from './health.ts';
import { WhatsAppSender } from './sender.ts';
import { whatsappWebhook } from './webhook.ts';

/** The built channel: its contribution, its sender and its /admin/health check. */
export interface WhatsAppFeature {
  readonly module: WadiModule;
  readonly sender?: ChannelSender;
  readonly dependencyChecks: readonly HealthCheck[];
}

/** Builds the WhatsApp sender and webhook when WhatsApp is configured. */
export function whatsappModule(ctx: ModuleContext, deps: { readonly writer: InboundStore }): WhatsAppFeature {
  const wa = ctx.config.whatsapp;
  if (!wa) return { module: { name: 'whatsapp' }, dependencyChecks: [] };
  const logger = ctx.logger.child({ channel: 'whatsapp' });
  const graphUrl = wa.graphUrl;
  const client = new GraphClient({
    // Resolved per call: the sandbox's port is only known once the server listens.
    baseUrl: () => graphUrl ?? `${ctx.localBaseUrl()}/sandbox/graph`,
    graphVersion: wa.graphVersion,
    phoneNumberId: wa.phoneNumberId,
    accessToken: wa.accessToken,
    logger,
  });
  const sender = new WhatsAppSender(client, logger);
  const dependencyChecks = [graphApiCheck(client)];
  if (ctx.role === 'worker') return { module: { name: 'whatsapp' }, sender, dependencyChecks };
  const module: WadiModule = {
    name: 'whatsapp',
    plugins: [
      whatsappWebhook({
        appSecret: wa.appSecret,
        verifyToken: wa.verifyToken,
        phoneNumberId: wa.phoneNumberId,
        writer: deps.writer,
      }),
    ],
  };
  return { module, sender, dependencyChecks };
}
