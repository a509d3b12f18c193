/**
 * Sandbox only: "Try it". Sends a message as a WhatsApp or Telegram user through WADI's real
 * webhook path, and reads the replies the fake platform APIs received for that chat.
 */
import type { FastifyPluginAsync } from 'fastify';
import { errors } from '../http/errors.ts';
import type { AdminContext } from './context.ts';
import {
  type ChannelName,
  type SandboxReplies,
  type SandboxRepliesQuery,
  type SandboxReply,
  type SandboxSendBody,
  type SandboxSent,
  sandboxReplies,
  sandboxRepliesQuery,
  sandboxSendBody,
  sandboxSent,
} from './contract.ts';
import { adminErrors } from './errors.ts';
import { telegramWebhookRequest, type WebhookRequest, whatsappWebhookRequest } from './sandbox-payloads.ts';
import { input, responses } from './schemas.ts';

const WEBHOOK_TIMEOUT_MS = 10_000;

type Channel = ChannelName;

/** The text of a recorded send call to `chat`, or undefined when the call is not one. */
function replyText(channel: Channel, kind: string, body: unknown, chat: string): string | undefined {
  const b = (body ?? {}) as Record<string, unknown>;
  if (channel === 'whatsapp') {
    if (kind !== 'send_text' || String(b.to) !== chat) return undefined;
    const text = b.text as { body?: unknown } | undefined;
    return typeof text?.body === 'string' ? text.body : '';
  }
  if (kind !== 'sendMessage' || String(b.chat_id) !== chat) return undefined;
  return typeof b.text === 'string' ? b.text : '';
}

/** Routes: POST /admin/sandbox/send, GET /admin/sandbox/replies. */
export function sandboxRoutes(a: AdminContext): FastifyPluginAsync {
  const { ctx } = a;
  const state = () => a.deps.sandboxState;
  return async (app) => {
    app.post<{ Body: SandboxSendBody; Reply: SandboxSent }>(
      '/admin/sandbox/send',
      {
        schema: {
          operationId: 'sandboxSend',
          summary: 'Sandbox: send a text as a WhatsApp or Telegram user through the real webhook',
          tags: ['sandbox'],
          body: input(sandboxSendBody),
          response: responses({ 200: sandboxSent }, [502]),
        },
      },
      async (req) => {
        const { channel, from, name, text } = req.body;
        let request: WebhookRequest;
        if (channel === 'whatsapp') {
          const wa = ctx.config.whatsapp;
          if (!wa) throw errors.badRequest('WhatsApp is not configured');
          request = whatsappWebhookRequest({
            from,
            name,
            text,
            phoneNumberId: wa.phoneNumberId,
            appSecret: wa.appSecret,
          });
          // The fake Graph API's 24 h window opens with the user's message, as Meta's does.
          state()?.customerWindows.noteInbound(from);
        } else {
          const tg = ctx.config.telegram;
          if (!tg) throw errors.badRequest('Telegram is not configured');
          request = telegramWebhookRequest({ from, name, text, webhookSecret: tg.webhookSecret });
        }
        // Replies recorded from now on are answers to this message (or later ones).
        const calls = state()?.calls(channel) ?? [];
        const afterSeq = calls.length > 0 ? calls[calls.length - 1].seq : 0;
        let status: number;
        try {
          const res = await fetch(`${ctx.localBaseUrl()}${request.path}`, {
            method: 'POST',
            headers: request.headers,
            body: request.body,
            signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
          });
          status = res.status;
          await res.arrayBuffer();
        } catch (err) {
          req.log.warn({ err: (err as Error).message }, 'sandbox webhook unreachable');
          throw adminErrors.webhookUnreachable();
        }
        if (status !== 200) throw adminErrors.webhookRejected(status);
        await a.audit(req, 'sandbox.send', `${channel}:${from}`);
        return { channel, chat: from, externalId: request.externalId, webhookStatus: status, afterSeq };
      },
    );

    app.get<{ Querystring: SandboxRepliesQuery; Reply: SandboxReplies }>(
      '/admin/sandbox/replies',
      {
        logLevel: 'warn',
        schema: {
          operationId: 'sandboxReplies',
          summary: 'Sandbox: texts WADI sent to a chat (as received by the fake platform API), oldest first',
          tags: ['sandbox'],
          querystring: input(sandboxRepliesQuery),
          response: responses({ 200: sandboxReplies }),
        },
      },
      async (req) => {
        const { channel, chat, after } = req.query;
        const calls = state()?.calls(channel, after) ?? [];
        const replies: SandboxReply[] = [];
        for (const c of calls) {
          const text = replyText(channel, c.kind, c.body, chat);
          if (text === undefined) continue;
          replies.push({
            seq: c.seq,
            at: c.at,
            text,
            status: c.status,
            platformMessageId: c.platformMessageId ?? null,
          });
        }
        const lastSeq = calls.length > 0 ? calls[calls.length - 1].seq : after;
        return { replies, lastSeq };
      },
    );
  };
}
