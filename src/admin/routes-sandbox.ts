/**
 * Sandbox only: "Try it". Sends a message as a WhatsApp or Telegram user through WADI's real
 * webhook path, and reads the replies the fake platform APIs received for that chat. A file
 * attached in Try it goes into the sandbox's media store first (POST /admin/sandbox/media), and
 * the message then carries its media id, so the worker downloads it from the fake Graph API or
 * Bot API exactly as in production.
 */
import type { FastifyPluginAsync } from 'fastify';
import { errors } from '../http/errors.ts';
import { mediaStore } from '../sandbox/media.ts';
import type { AdminContext } from './context.ts';
import {
  type ChannelName,
  type SandboxMedia,
  type SandboxMediaQuery,
  type SandboxReplies,
  type SandboxRepliesQuery,
  type SandboxReply,
  type SandboxSendBody,
  type SandboxSent,
  sandboxMedia,
  sandboxMediaQuery,
  sandboxReplies,
  sandboxRepliesQuery,
  sandboxSendBody,
  sandboxSent,
} from './contract.ts';
import { adminErrors } from './errors.ts';
import {
  type AttachedMedia,
  telegramWebhookRequest,
  type WebhookRequest,
  whatsappWebhookRequest,
} from './sandbox-payloads.ts';
import { input, responses } from './schemas.ts';

const WEBHOOK_TIMEOUT_MS = 10_000;
/** Largest file Try it attaches: Telegram's Bot API serves files up to 20 MB (WhatsApp's voice limit is 16 MB). */
export const TRY_IT_MAX_UPLOAD = 20 * 1024 * 1024;
const MIME = /^[\w.+-]+\/[\w.+-]+$/;

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
    // Raw bytes in, in a scope of its own so the rest of the admin API keeps its JSON parser and 1 MB limit.
    await app.register(async (scope) => {
      scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: TRY_IT_MAX_UPLOAD }, (_req, body, done) =>
        done(null, body),
      );
      scope.post<{ Querystring: SandboxMediaQuery; Reply: SandboxMedia }>(
        '/admin/sandbox/media',
        {
          bodyLimit: TRY_IT_MAX_UPLOAD,
          schema: {
            operationId: 'sandboxMedia',
            summary: 'Sandbox: store a file (the raw body, its Content-Type) for a Try it media message',
            tags: ['sandbox'],
            querystring: input(sandboxMediaQuery),
            response: responses({ 201: sandboxMedia }, [413]),
          },
        },
        async (req, reply) => {
          const s = state();
          if (!s) throw errors.badRequest('the sandbox is not running in this process');
          const body = req.body as unknown;
          if (!Buffer.isBuffer(body) || body.length === 0) throw errors.badRequest('the body must be the file bytes');
          const mimeType = String(req.headers['content-type'] ?? '')
            .split(';')[0]
            .trim()
            .toLowerCase();
          if (!MIME.test(mimeType) || mimeType.length > 200)
            throw errors.badRequest('Content-Type must be the file type, such as audio/ogg or image/jpeg');
          const item = mediaStore(s).put(body, { mimeType, fileName: req.query.filename });
          await a.audit(req, 'sandbox.media', `${mimeType}:${body.length}`);
          reply.status(201);
          return {
            id: item.id,
            mimeType: item.mimeType,
            fileName: item.fileName ?? null,
            size: item.bytes.length,
            sha256: item.sha256,
          };
        },
      );
    });

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
        let media: AttachedMedia | undefined;
        if (req.body.media) {
          const s = state();
          const item = s ? mediaStore(s).get(req.body.media.id) : undefined;
          if (!item) throw errors.badRequest('media.id is not in the sandbox media store: upload it again');
          media = {
            media: req.body.media.kind,
            id: item.id,
            mimeType: item.mimeType,
            sha256: item.sha256,
            size: item.bytes.length,
            fileName: item.fileName,
          };
        } else if (text.trim() === '') {
          throw errors.badRequest('text must not be empty (or attach media)');
        }
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
            media,
          });
          // The fake Graph API's 24 h window opens with the user's message, as Meta's does.
          state()?.customerWindows.noteInbound(from);
        } else {
          const tg = ctx.config.telegram;
          if (!tg) throw errors.badRequest('Telegram is not configured');
          request = telegramWebhookRequest({ from, name, text, webhookSecret: tg.webhookSecret, media });
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
          // Only what the platform accepted reached the user: a faulted or refused attempt is not a reply.
          if (c.status < 200 || c.status > 299) continue;
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
