/**
 * Fake Telegram Bot API over real HTTP: `/sandbox/telegram/bot<token>/<method>`. It keeps the
 * semantics WADI depends on: the token check, webhook vs getUpdates exclusivity (409), offsets
 * that confirm updates, a newer getUpdates ending an older one (409), sendMessage's 1–4096
 * visible-character rule and Telegram's own HTML parse (telegram-html.ts: 400 "Bad Request: can't
 * parse entities: …" on markup Telegram refuses), and faults from the shared queue.
 * `POST /sandbox/telegram/updates` queues an update for getUpdates; `POST /sandbox/telegram/webhook-info`
 * sets what getWebhookInfo reports (last error, pending count) for tests.
 */
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { SANDBOX_CREDENTIALS } from '../config/config.ts';
import { mediaStore, sendMedia } from './media.ts';
import type { SandboxState } from './state.ts';
import { parseTelegramHtml } from './telegram-html.ts';

interface Webhook {
  url: string;
  secretToken?: string;
  allowedUpdates?: string[];
  maxConnections: number;
  lastErrorDate?: number;
  lastErrorMessage?: string;
  pendingOverride?: number;
}

interface Poll {
  readonly offset: number;
  readonly limit: number;
  finish(reply: { status: number; body: unknown }): void;
}

/** The fake's own memory (one per SandboxState). */
class BotApiState {
  webhook: Webhook = { url: '', maxConnections: 40 };
  updates: Record<string, unknown>[] = [];
  nextUpdateId = 1;
  nextMessageId = 1;
  poll?: Poll;

  pending(offset: number, limit: number): Record<string, unknown>[] {
    return this.updates.filter((u) => (u.update_id as number) >= offset).slice(0, limit);
  }
}

const states = new WeakMap<SandboxState, BotApiState>();
/** Bots may download files up to 20 MB. */
const DOWNLOAD_CEILING = 20 * 1024 * 1024;
const EXTENSIONS: Record<string, string> = {
  'audio/ogg': 'oga',
  'audio/mpeg': 'mp3',
  'image/jpeg': 'jpg',
  'image/png': 'png',
  'image/webp': 'webp',
  'video/mp4': 'mp4',
  'application/pdf': 'pdf',
};
const ME = { id: 100000001, is_bot: true, first_name: 'WADI', username: 'wadi_sandbox_bot' };
const DESCRIPTIONS: Record<number, string> = {
  400: 'Bad Request: chat not found',
  401: 'Unauthorized',
  403: 'Forbidden: bot was blocked by the user',
  409: 'Conflict: terminated by other getUpdates request',
  429: 'Too Many Requests: retry after',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
};

function fail(reply: FastifyReply, code: number, description: string, parameters?: Record<string, unknown>) {
  return reply.status(code).send({ ok: false, error_code: code, description, ...(parameters ? { parameters } : {}) });
}

/** What Telegram checks a sendMessage text against: its parse, then the visible length. */
function checkText(text: string, parseMode: unknown): { ok: true } | { ok: false; description: string } {
  let visible = text.trim();
  if (parseMode === 'HTML') {
    const parsed = parseTelegramHtml(text);
    if (!parsed.ok) return { ok: false, description: `can't parse entities: ${parsed.error}` };
    visible = parsed.text;
  } else if (parseMode !== undefined && parseMode !== 'MarkdownV2' && parseMode !== 'Markdown') {
    return { ok: false, description: 'unsupported parse_mode' };
  }
  if (visible.length === 0) return { ok: false, description: 'message text is empty' };
  if (visible.length > 4096) return { ok: false, description: 'message is too long' };
  return { ok: true };
}

/** The fake as a Fastify plugin. */
export function botApiFake(sandbox: SandboxState): FastifyPluginAsync {
  const s = new BotApiState();
  states.set(sandbox, s);
  const media = mediaStore(sandbox);
  return async (app) => {
    app.get('/sandbox/telegram/file/bot:token/*', async (req, reply) => {
      const { token } = req.params as { token: string };
      const filePath = (req.params as { '*': string })['*'];
      const record = (status: number, bytesSent?: number) =>
        sandbox.record({
          channel: 'telegram',
          kind: 'file_download',
          method: 'GET',
          path: '/sandbox/telegram/file/bot<token>/<file_path>',
          body: { filePath, bytesSent },
          status,
        });
      if (token !== SANDBOX_CREDENTIALS.telegramBotToken) {
        record(401);
        return fail(reply, 401, 'Unauthorized');
      }
      const fault = sandbox.takeFault('telegram', 'file_download');
      if (fault?.delay_ms) await new Promise((r) => setTimeout(r, fault.delay_ms));
      if (fault && (fault.status || fault.code)) {
        const code = fault.status ?? fault.code ?? 500;
        record(code);
        return fail(reply, code, DESCRIPTIONS[code] ?? `Error ${code}`);
      }
      const id = /^media\/(\d+)(\.\w+)?$/.exec(filePath)?.[1];
      const item = id ? media.get(id) : undefined;
      if (!item || item.bytes.length > DOWNLOAD_CEILING) {
        record(404);
        return fail(reply, 404, 'Not Found');
      }
      return sendMedia(reply, item, (sent) => record(200, sent));
    });

    app.post('/sandbox/telegram/updates', async (req, reply) => {
      const body = (req.body ?? {}) as Record<string, unknown>;
      if (typeof body !== 'object' || Array.isArray(body)) return fail(reply, 400, 'Bad Request: an update object');
      const update = { ...body, update_id: s.nextUpdateId++ };
      s.updates.push(update);
      const p = s.poll;
      if (p) {
        const ready = s.pending(p.offset, p.limit);
        if (ready.length > 0) p.finish({ status: 200, body: { ok: true, result: ready } });
      }
      return reply.status(201).send({ update_id: update.update_id });
    });
    app.post('/sandbox/telegram/webhook-info', async (req) => {
      const b = (req.body ?? {}) as {
        last_error_date?: number;
        last_error_message?: string;
        pending_update_count?: number;
      };
      s.webhook.lastErrorDate = b.last_error_date;
      s.webhook.lastErrorMessage = b.last_error_message;
      s.webhook.pendingOverride = b.pending_update_count;
      return { ok: true };
    });

    app.route({
      method: ['GET', 'POST'],
      url: '/sandbox/telegram/bot:token/:method',
      handler: async (req, reply) => {
        const { token, method } = req.params as { token: string; method: string };
        if (token !== SANDBOX_CREDENTIALS.telegramBotToken) return fail(reply, 401, 'Unauthorized');
        const body = { ...((req.query ?? {}) as object), ...((req.body ?? {}) as object) } as Record<string, unknown>;
        const record = (status: number, platformMessageId?: string) => {
          if (method === 'getUpdates') return; // long polling would flood the outbox
          sandbox.record({
            channel: 'telegram',
            kind: method,
            method: req.method,
            path: `/sandbox/telegram/bot<token>/${method}`,
            body,
            status,
            platformMessageId,
          });
        };
        const fault = sandbox.takeFault('telegram', method);
        if (fault?.delay_ms) await new Promise((r) => setTimeout(r, fault.delay_ms));
        if (fault && (fault.status || fault.code)) {
          const code = fault.code ?? fault.status ?? 500;
          record(code);
          if (code === 429) {
            const after = fault.retry_after ?? 1;
            reply.header('retry-after', String(after));
            return fail(reply, 429, `Too Many Requests: retry after ${after}`, { retry_after: after });
          }
          return fail(reply, fault.status ?? code, fault.description ?? DESCRIPTIONS[code] ?? `Error ${code}`);
        }
        const ok = (result: unknown, platformMessageId?: string) => {
          record(200, platformMessageId);
          return reply.send({ ok: true, result });
        };
        switch (method) {
          case 'getMe':
            return ok(ME);
          case 'getWebhookInfo':
            return ok({
              url: s.webhook.url,
              has_custom_certificate: false,
              pending_update_count: s.webhook.pendingOverride ?? (s.webhook.url ? 0 : s.updates.length),
              max_connections: s.webhook.url ? s.webhook.maxConnections : undefined,
              allowed_updates: s.webhook.allowedUpdates,
              last_error_date: s.webhook.lastErrorDate,
              last_error_message: s.webhook.lastErrorMessage,
            });
          case 'setWebhook': {
            const url = String(body.url ?? '');
            if (url && !/^https:\/\//.test(url))
              return fail(reply, 400, 'Bad Request: bad webhook: HTTPS url must be provided for webhook');
            const secret = body.secret_token as string | undefined;
            if (secret !== undefined && !/^[A-Za-z0-9_-]{1,256}$/.test(secret)) {
              return fail(reply, 400, 'Bad Request: secret token contains unallowed characters');
            }
            s.webhook = {
              url,
              secretToken: secret,
              allowedUpdates: body.allowed_updates as string[] | undefined,
              maxConnections: Number(body.max_connections ?? 40),
            };
            if (body.drop_pending_updates) s.updates = [];
            s.poll?.finish({ status: 409, body: conflict('webhook') });
            return ok(true);
          }
          case 'deleteWebhook':
            s.webhook = { url: '', maxConnections: 40 };
            if (body.drop_pending_updates) s.updates = [];
            return ok(true);
          case 'getUpdates':
            return getUpdates(s, body, reply);
          case 'sendMessage': {
            const text = typeof body.text === 'string' ? body.text : '';
            const bad = (description: string) => {
              record(400);
              return fail(reply, 400, `Bad Request: ${description}`);
            };
            if (!/^-?\d+$/.test(String(body.chat_id ?? '')) || String(body.chat_id) === '0')
              return bad('chat not found');
            const checked = checkText(text, body.parse_mode);
            if (!checked.ok) return bad(checked.description);
            const id = s.nextMessageId++;
            const chatId = Number(body.chat_id);
            return ok(
              {
                message_id: id,
                date: Math.floor(Date.now() / 1000),
                chat: { id: chatId, type: chatId < 0 ? 'group' : 'private' },
                text,
                from: ME,
              },
              String(id),
            );
          }
          case 'getFile': {
            const item = media.get(String(body.file_id ?? ''));
            if (!item) {
              record(400);
              return fail(reply, 400, 'Bad Request: invalid file_id');
            }
            if (item.bytes.length > DOWNLOAD_CEILING) {
              record(400);
              return fail(reply, 400, 'Bad Request: file is too big');
            }
            const ext = EXTENSIONS[item.mimeType.split(';')[0].trim()] ?? 'bin';
            return ok({
              file_id: item.id,
              file_unique_id: `u${item.id}`,
              ...(item.hideSize ? {} : { file_size: item.bytes.length }),
              file_path: `media/${item.id}.${ext}`,
            });
          }
          case 'sendChatAction':
          case 'answerCallbackQuery':
            return ok(true);
          default:
            return fail(reply, 404, 'Not Found: method not found');
        }
      },
    });
  };
}

function conflict(why: 'webhook' | 'poller') {
  return {
    ok: false,
    error_code: 409,
    description:
      why === 'webhook'
        ? "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"
        : 'Conflict: terminated by other getUpdates request; make sure that only one bot instance is running',
  };
}

async function getUpdates(s: BotApiState, body: Record<string, unknown>, reply: FastifyReply): Promise<FastifyReply> {
  if (s.webhook.url) return reply.status(409).send(conflict('webhook'));
  const offset = Number(body.offset ?? 0);
  const limit = Math.min(100, Math.max(1, Number(body.limit ?? 100)));
  // Asking from `offset` confirms everything before it: Telegram forgets those updates.
  if (offset > 0) s.updates = s.updates.filter((u) => (u.update_id as number) >= offset);
  const ready = s.pending(offset, limit);
  const timeout = Math.min(Number(body.timeout ?? 0), 50);
  if (ready.length > 0 || timeout <= 0) return reply.send({ ok: true, result: ready });
  // A newer long poll ends the older one, as on the real server.
  s.poll?.finish({ status: 409, body: conflict('poller') });
  return new Promise<FastifyReply>((resolve) => {
    let done = false;
    const poll: Poll = {
      offset,
      limit,
      finish(r) {
        if (done) return;
        done = true;
        clearTimeout(timer);
        reply.raw.removeListener('close', onClose);
        if (s.poll === poll) s.poll = undefined;
        resolve(reply.status(r.status).send(r.body));
      },
    };
    const timer = setTimeout(() => poll.finish({ status: 200, body: { ok: true, result: [] } }), timeout * 1000);
    // The client gave up (aborted long poll, shutdown): forget it so the server can close. The
    // response's 'close' (not the request's, which fires once the body is read) means that.
    const onClose = () => poll.finish({ status: 200, body: { ok: true, result: [] } });
    reply.raw.once('close', onClose);
    s.poll = poll;
  });
}
