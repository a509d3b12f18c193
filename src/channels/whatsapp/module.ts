/**
 * The WhatsApp feature: the Graph API sender (every role: workers send replies) and, outside the
 * worker role, the webhook routes. In sandbox mode the client talks to the in-process fake.
 */
import type { ModuleFactory } from '../../kernel/module.ts';
import { contribute, lookup, senders } from '../../app/shared.ts';
import { GraphClient } from './client.ts';
import { graphApiCheck } from './health.ts';
import { WhatsAppSender } from './sender.ts';
import { whatsappWebhook } from './webhook.ts';

/** Registers the WhatsApp sender and webhook when WhatsApp is configured. */
export const whatsappModule: ModuleFactory = (ctx) => {
  const wa = ctx.config.whatsapp;
  if (!wa) return { name: 'whatsapp' };
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
  senders(ctx).set('whatsapp', new WhatsAppSender(client, logger));
  contribute(ctx, 'admin.dependencyChecks').push(graphApiCheck(client));
  if (ctx.role === 'worker') return { name: 'whatsapp' };
  return {
    name: 'whatsapp',
    plugins: [
      whatsappWebhook({
        appSecret: wa.appSecret,
        verifyToken: wa.verifyToken,
        phoneNumberId: wa.phoneNumberId,
        writer: () => lookup(ctx, 'inbox.writer'),
      }),
    ],
  };
};
