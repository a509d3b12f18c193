/**
 * `GET /webhooks/whatsapp` (Meta's verification handshake) and `POST /webhooks/whatsapp` (signed
 * notifications). The POST route lives in its own encapsulated scope with a buffer body parser,
 * so the signature is checked on the exact bytes Meta signed, and it answers 200 only after the
 * inbox writer has committed every event of the body. A database failure answers 503 with
 * Retry-After, so Meta redelivers instead of WADI acknowledging something it did not store.
 */
import type { FastifyPluginAsync } from 'fastify';
import { errors } from '../../http/errors.ts';
import { secretEquals } from '../../kernel/secret.ts';
import { metrics } from '../../observability/metrics/metrics.ts';
import type { AcceptResult, InboundStore } from '../types.ts';
import { parseWebhook } from './parser.ts';
import { verifySignature } from './signature.ts';

/** Meta sends up to 3 MB in one notification. */
export const WEBHOOK_BODY_LIMIT = 3 * 1024 * 1024;

/** What the webhook routes need. */
export interface WhatsAppWebhookDeps {
  readonly appSecret: string;
  readonly verifyToken: string;
  readonly phoneNumberId?: string;
  /** The process's inbox writer. */
  readonly writer: InboundStore;
}

/** The acknowledgement, serialised once: the same bytes and content type Fastify would send for
 * `{ received: true }`, without a serialisation per request. */
const RECEIVED = Buffer.from(JSON.stringify({ received: true }));
const JSON_TYPE = 'application/json; charset=utf-8';

const count = (outcome: string, n = 1) => {
  if (n > 0) metrics.webhookEvents.inc({ channel: 'whatsapp', outcome }, n);
};

/** The WhatsApp webhook routes. */
export function whatsappWebhook(deps: WhatsAppWebhookDeps): FastifyPluginAsync {
  return async (app) => {
    app.get('/webhooks/whatsapp', async (req, reply) => {
      const q = req.query as Record<string, string | string[] | undefined>;
      const mode = q['hub.mode'];
      const token = q['hub.verify_token'];
      const challenge = q['hub.challenge'];
      if (mode !== 'subscribe' || typeof token !== 'string' || !secretEquals(token, deps.verifyToken)) {
        req.log.warn({ mode: typeof mode === 'string' ? mode : undefined }, 'whatsapp verification refused');
        throw errors.forbidden('verification token mismatch');
      }
      if (typeof challenge !== 'string') throw errors.badRequest('hub.challenge is missing');
      req.log.info('whatsapp webhook verified');
      return reply.status(200).type('text/plain; charset=utf-8').send(challenge);
    });

    // Encapsulated: this parser only applies to the routes registered inside this scope.
    await app.register(async (scope) => {
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser(
        'application/json',
        { parseAs: 'buffer', bodyLimit: WEBHOOK_BODY_LIMIT },
        (_req, body, done) => done(null, body),
      );
      scope.addHook('onError', async (_req, _reply, err) => {
        // Oversized bodies, wrong content types: rejected before the handler, still counted.
        if ((err as { code?: string }).code?.startsWith('FST_ERR_CTP')) count('malformed');
      });

      // No helmet headers: Meta reads only the status, never a browser (CPU per request, issue 20).
      scope.post('/webhooks/whatsapp', { bodyLimit: WEBHOOK_BODY_LIMIT, helmet: false }, async (req, reply) => {
        const raw = req.body;
        if (!Buffer.isBuffer(raw)) throw errors.unsupportedMediaType();
        if (!verifySignature(raw, req.headers['x-hub-signature-256'], deps.appSecret)) {
          count('invalid_signature');
          req.log.warn({ bytes: raw.length }, 'whatsapp webhook with a missing or invalid signature');
          throw errors.invalidSignature();
        }
        let body: unknown;
        try {
          body = JSON.parse(raw.toString('utf8'));
        } catch {
          count('malformed');
          throw errors.malformedJson();
        }
        if (typeof body !== 'object' || body === null || Array.isArray(body)) {
          count('malformed');
          throw errors.badRequest('the notification must be a JSON object');
        }

        const parsed = parseWebhook(body, { phoneNumberId: deps.phoneNumberId });
        // Reasons only: ignored items can hold message text, which stays out of info-level logs.
        for (const i of parsed.ignored) req.log.info({ reason: i.reason }, 'whatsapp item ignored');
        for (const e of parsed.errors) req.log.warn({ error: e }, 'whatsapp reported an error');
        count('ignored', parsed.ignored.length + parsed.errors.length);
        for (const ev of parsed.events) {
          if (ev.kind === 'unknown') req.log.warn({ type: ev.extra?.type }, 'whatsapp message of an unknown type kept');
        }

        if (parsed.events.length > 0 || parsed.statuses.length > 0) {
          const writer = deps.writer;
          let result: AcceptResult;
          try {
            result = await writer.accept(parsed.events, parsed.statuses, undefined, { channel: 'whatsapp', raw });
          } catch (err) {
            req.log.error({ err }, 'whatsapp webhook could not be stored; asking Meta to retry');
            throw errors.unavailable('could not store the notification; retry later');
          }
          count('accepted', result.accepted + result.statuses);
          count('duplicate', result.duplicates + result.duplicateStatuses);
          if (result.unstorable) {
            // Acknowledged all the same: Meta would redeliver it for days, and it can never be stored.
            count('unstorable', result.unstorable);
            req.log.error(
              { deadLetterId: result.deadLetterId, items: result.unstorable },
              'whatsapp delivery the database cannot store; kept in unstorable_deliveries',
            );
          }
          req.log.debug(
            { accepted: result.accepted, duplicates: result.duplicates, statuses: result.statuses },
            'whatsapp webhook stored',
          );
        }
        return reply.status(200).header('content-type', JSON_TYPE).send(RECEIVED);
      });
    });
  };
}
