/**
 * `POST /webhooks/telegram`: the secret header is checked before the body is even parsed (401,
 * nothing stored), then the update is committed through the inbox writer and only then answered
 * 200. A database failure answers 503 with Retry-After, so Telegram delivers it again.
 */
import type { FastifyPluginAsync } from 'fastify';
import { errors } from '../../http/errors.ts';
import { metrics } from '../../observability/metrics/metrics.ts';
import { type IngestDeps, ingestUpdates } from './ingest.ts';
import { secretMatches } from './secret.ts';
import { isUpdate } from './update-types.ts';

/** Telegram sends one update per POST; 1 MB is far above any real update. */
const BODY_LIMIT = 1024 * 1024;
const SECRET_HEADER = 'x-telegram-bot-api-secret-token';

/** The webhook route as a plugin. */
export function telegramWebhook(deps: IngestDeps & { readonly secret?: string }): FastifyPluginAsync {
  return async (app) => {
    // Keep the body as bytes: JSON errors are ours to count and answer (after the secret check).
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: BODY_LIMIT }, (_req, body, done) => done(null, body));
    app.post('/webhooks/telegram', {
      bodyLimit: BODY_LIMIT,
      // No helmet headers: Telegram reads only the status, never a browser (CPU per request, issue 20).
      helmet: false,
      onRequest: async (req) => {
        if (!secretMatches(req.headers[SECRET_HEADER], deps.secret)) {
          metrics.webhookEvents.inc({ channel: 'telegram', outcome: 'invalid_signature' });
          throw errors.unauthorized('missing or wrong X-Telegram-Bot-Api-Secret-Token');
        }
      },
      handler: async (req, reply) => {
        let update: unknown;
        try {
          update = JSON.parse((req.body as Buffer | undefined)?.toString('utf8') ?? '');
        } catch {
          metrics.webhookEvents.inc({ channel: 'telegram', outcome: 'malformed' });
          throw errors.malformedJson();
        }
        if (!isUpdate(update)) {
          metrics.webhookEvents.inc({ channel: 'telegram', outcome: 'malformed' });
          throw errors.badRequest('the body is not a Telegram update (no integer update_id)');
        }
        try {
          const r = await ingestUpdates([update], deps, req.body as Buffer);
          return reply.status(200).send({ ok: true, ...r });
        } catch (err) {
          req.log.error({ err, updateId: update.update_id }, 'telegram update not stored');
          throw errors.unavailable('the update could not be stored; retry later', 5);
        }
      },
    });
  };
}
