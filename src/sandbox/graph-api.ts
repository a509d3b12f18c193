/**
 * A fake WhatsApp Graph API: `POST /sandbox/graph/:version/:phoneNumberId/messages`, validating
 * like Meta (token, required fields, 4096-character bodies), answering with realistic wamids and
 * Meta-shaped error bodies, recording every call for /sandbox/outbox and failing on demand
 * through the queued faults.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { checkTemplateSend } from './graph-templates.ts';
import { mediaStore, sendMedia } from './media.ts';
import type { SandboxState } from './state.ts';

const TITLES: Record<number, string> = {
  4: 'Application request limit reached',
  10: 'Permission denied',
  100: 'Invalid parameter',
  190: 'Invalid OAuth access token - Cannot parse access token',
  80007: 'Rate limit issues',
  130429: 'Rate limit hit',
  131000: 'Something went wrong',
  131016: 'Service unavailable',
  131026: 'Message undeliverable',
  131047: 'Re-engagement message',
  131051: 'Unsupported message type',
  131056: '(Business Account, Consumer Account) pair rate limit hit',
  132000: 'Number of parameters does not match the expected number of params',
  132001: 'Template name does not exist in the translation',
  132005: 'Translated text too long',
  132018: 'There was an issue with the parameters in your template',
};

/** The HTTP status Meta uses for a code (throttling is 400 in current docs). */
function statusFor(code: number): number {
  if (code === 190) return 401;
  if (code === 10 || (code >= 200 && code <= 299)) return 403;
  if (code === 131000) return 500;
  if (code === 131016) return 503;
  return 400;
}

function fbtrace(): string {
  return randomBytes(8).toString('base64url');
}

/** A wamid shaped like Meta's (base64 of the recipient plus a random id). */
export function fakeWamid(to: string): string {
  const inner = Buffer.concat([
    Buffer.from([0x15, 0x02, 0x00, 0x11, 0x18, 0x12]),
    Buffer.from(randomBytes(9).toString('hex').toUpperCase()),
    Buffer.from([0x00]),
  ]);
  return `wamid.HBgL${Buffer.from(to).toString('base64').replace(/=+$/, '')}${inner.toString('base64')}`;
}

function metaError(reply: FastifyReply, code: number, details: string, status = statusFor(code)) {
  const title = TITLES[code] ?? 'Error';
  return reply.status(status).send({
    error: {
      message: `(#${code}) ${title}`,
      type: 'OAuthException',
      code,
      error_data: { messaging_product: 'whatsapp', details },
      fbtrace_id: fbtrace(),
    },
  });
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** What kind of call a request body is, or an error to answer with. */
function classify(body: unknown): { kind: string } | { error: string } {
  if (!isObj(body)) return { error: 'the request body must be a JSON object' };
  if (body.messaging_product !== 'whatsapp') return { error: 'messaging_product must be "whatsapp"' };
  if (body.status !== undefined) {
    if (body.status !== 'read') return { error: 'status must be "read"' };
    if (typeof body.message_id !== 'string' || !body.message_id) return { error: 'message_id is required' };
    if (body.typing_indicator === undefined) return { kind: 'mark_read' };
    if (!isObj(body.typing_indicator) || body.typing_indicator.type !== 'text') {
      return { error: 'typing_indicator.type must be "text"' };
    }
    return { kind: 'typing' };
  }
  if (typeof body.to !== 'string' || !/^\+?\d{5,20}$/.test(body.to)) return { error: 'to must be a phone number' };
  if (body.type === 'template') return { kind: 'send_template' };
  if (body.type !== 'text') return { error: `message type ${String(body.type)} is not supported by the sandbox` };
  if (!isObj(body.text) || typeof body.text.body !== 'string' || body.text.body.trim() === '') {
    return { error: 'text.body is required' };
  }
  if (body.text.body.length > 4096) return { error: 'text.body is longer than 4096 characters' };
  if (body.context !== undefined && (!isObj(body.context) || typeof body.context.message_id !== 'string')) {
    return { error: 'context.message_id must be a string' };
  }
  return { kind: 'send_text' };
}

/** The fake Graph API plugin. */
export function graphApiFake(state: SandboxState): FastifyPluginAsync {
  const media = mediaStore(state);
  // Download links are signed (id + expiry) so a test cannot stretch one by editing it.
  const urlKey = randomBytes(32);
  const sign = (id: string, exp: number) => createHmac('sha256', urlKey).update(`${id}.${exp}`).digest('hex');
  return async (app) => {
    app.get('/sandbox/graph-media/:id', async (req, reply) => {
      const { id } = req.params as { id: string };
      const q = req.query as { exp?: string; sig?: string };
      const path = '/sandbox/graph-media/<id>';
      const record = (status: number, bytesSent?: number) =>
        state.record({
          channel: 'whatsapp',
          kind: 'media_download',
          method: 'GET',
          path,
          body: { id, bytesSent },
          status,
        });
      if (req.headers.authorization !== `Bearer ${state.credentials.whatsappAccessToken}`) {
        record(401);
        return metaError(reply, 190, 'Invalid OAuth access token');
      }
      const fault = state.takeFault('whatsapp', 'media_download');
      if (fault?.delay_ms) await new Promise((r) => setTimeout(r, fault.delay_ms));
      if (fault && (fault.code !== undefined || fault.status !== undefined)) {
        const status = fault.status ?? statusFor(fault.code ?? 131000);
        record(status);
        return metaError(reply, fault.code ?? 131000, 'fault injected by the sandbox', status);
      }
      const item = media.get(id);
      const exp = Number(q.exp);
      const expected = Buffer.from(sign(id, exp));
      const given = Buffer.from(String(q.sig ?? ''));
      const valid = given.length === expected.length && timingSafeEqual(given, expected);
      if (!item || !valid || !(exp > Date.now())) {
        record(404);
        return reply.status(404).send('URL signature expired or invalid');
      }
      return sendMedia(reply, item, (sent) => record(200, sent));
    });

    await app.register(async (scope) => {
      // Malformed JSON and oversized bodies get Meta's error shape, not WADI's.
      scope.setErrorHandler((err, _req, reply) => {
        const status = (err as { statusCode?: number }).statusCode ?? 500;
        return metaError(reply, 100, (err as Error).message, status >= 500 ? 500 : 400);
      });
      scope.get('/sandbox/graph/:version/:phoneNumberId', async (req, reply) => {
        const { phoneNumberId } = req.params as { phoneNumberId: string };
        const path = req.url.split('?')[0];
        const query = req.query as { fields?: string };
        if (query.fields === undefined && phoneNumberId !== state.credentials.whatsappPhoneNumberId) {
          // GET /{version}/{media-id}: step one of a media download.
          const authorized = req.headers.authorization === `Bearer ${state.credentials.whatsappAccessToken}`;
          const record = (status: number) =>
            state.record({ channel: 'whatsapp', kind: 'media_info', method: 'GET', path, body: null, status });
          if (!authorized) {
            record(401);
            return metaError(reply, 190, 'Invalid OAuth access token');
          }
          const fault = state.takeFault('whatsapp', 'media_info');
          if (fault?.delay_ms) await new Promise((r) => setTimeout(r, fault.delay_ms));
          if (fault && (fault.code !== undefined || fault.status !== undefined)) {
            const status = fault.status ?? statusFor(fault.code ?? 131000);
            record(status);
            if (fault.retry_after !== undefined) reply.header('retry-after', String(fault.retry_after));
            return metaError(reply, fault.code ?? 131000, 'fault injected by the sandbox', status);
          }
          const item = media.get(phoneNumberId);
          if (!item) {
            record(404);
            return metaError(
              reply,
              100,
              `Unsupported get request. Object with ID '${phoneNumberId}' does not exist`,
              404,
            );
          }
          record(200);
          const exp = Date.now() + item.urlTtlMs;
          const origin = `${req.protocol}://${req.headers.host ?? '127.0.0.1'}`;
          return {
            messaging_product: 'whatsapp',
            url: `${origin}/sandbox/graph-media/${item.id}?exp=${exp}&sig=${sign(item.id, exp)}`,
            mime_type: item.mimeType,
            sha256: item.announcedSha256 ?? item.sha256,
            ...(item.hideSize ? {} : { file_size: item.bytes.length }),
            id: item.id,
          };
        }
        const fault = state.takeFault('whatsapp', 'phone_number');
        if (fault?.delay_ms) await new Promise((r) => setTimeout(r, fault.delay_ms));
        const authorized = req.headers.authorization === `Bearer ${state.credentials.whatsappAccessToken}`;
        const code = !authorized
          ? 190
          : fault && (fault.code !== undefined || fault.status !== undefined)
            ? (fault.code ?? 131000)
            : 0;
        const status = code === 0 ? 200 : (fault?.status ?? statusFor(code));
        state.record({ channel: 'whatsapp', kind: 'phone_number', method: 'GET', path, body: null, status });
        if (code !== 0)
          return metaError(
            reply,
            code,
            authorized ? 'fault injected by the sandbox' : 'Invalid OAuth access token',
            status,
          );
        return {
          id: phoneNumberId,
          display_phone_number: '+1 555-000-0000',
          verified_name: 'WADI Sandbox',
          quality_rating: 'GREEN',
        };
      });
      scope.post('/sandbox/graph/:version/:phoneNumberId/messages', async (req, reply) => {
        const { version, phoneNumberId } = req.params as { version: string; phoneNumberId: string };
        const path = req.url.split('?')[0];
        const body = req.body;
        const answer = (kind: string, status: number, platformMessageId?: string) =>
          state.record({ channel: 'whatsapp', kind, method: 'POST', path, body, status, platformMessageId });

        const auth = req.headers.authorization;
        if (auth !== `Bearer ${state.credentials.whatsappAccessToken}`) {
          answer('unauthorized', 401);
          return metaError(reply, 190, 'Invalid OAuth access token');
        }
        if (!/^v\d+\.\d+$/.test(version) || !/^\d+$/.test(phoneNumberId)) {
          answer('bad_path', 400);
          return metaError(reply, 100, `Unsupported post request. Object with ID '${phoneNumberId}' does not exist`);
        }
        const c = classify(body);
        const kind = 'kind' in c ? c.kind : 'invalid';
        const fault = state.takeFault('whatsapp', kind);
        if (fault?.delay_ms) await new Promise((r) => setTimeout(r, fault.delay_ms));
        if (fault && (fault.code !== undefined || fault.status !== undefined)) {
          const code = fault.code ?? (fault.status && fault.status >= 500 ? 131000 : 100);
          const status = fault.status ?? statusFor(code);
          answer(kind, status);
          if (fault.retry_after !== undefined) reply.header('retry-after', String(fault.retry_after));
          return metaError(reply, code, 'fault injected by the sandbox', status);
        }
        if ('error' in c) {
          answer(kind, 400);
          return metaError(reply, 100, c.error);
        }
        if (kind === 'send_template') {
          const refusal = checkTemplateSend(body as Record<string, unknown>, state.approvedTemplates);
          if (refusal) {
            answer(kind, statusFor(refusal.code));
            return metaError(reply, refusal.code, refusal.details);
          }
        }
        if (kind === 'send_text' && state.customerWindows.closed((body as { to: string }).to)) {
          // Meta refuses free-form messages outside the 24 h customer-service window.
          answer(kind, 400);
          return metaError(
            reply,
            131047,
            'Message failed to send because more than 24 hours have passed since the customer last replied to this number.',
          );
        }
        if (kind === 'send_text' || kind === 'send_template') {
          const to = (body as { to: string }).to.replace(/^\+/, '');
          const id = fakeWamid(to);
          answer(kind, 200, id);
          // Meta then reports sent → delivered → read on the webhook; so does the sandbox.
          state.deliveryReports?.schedule(phoneNumberId, id, to);
          return { messaging_product: 'whatsapp', contacts: [{ input: to, wa_id: to }], messages: [{ id }] };
        }
        answer(kind, 200);
        return { success: true };
      });
    });
  };
}
