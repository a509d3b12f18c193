/** Dead letters: inbound messages that exhausted their attempts, and replaying them. */
import type { FastifyPluginAsync } from 'fastify';
import { errors } from '../http/errors.ts';
import type { AdminContext } from './context.ts';
import { adminErrors } from './errors.ts';
import { listDeadLetters, replayDeadLetter } from './queries.ts';
import { idParams, instant, nullableString, responses } from './schemas.ts';

const deadLetter = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    channel: { type: 'string' },
    chatId: { type: 'string' },
    conversationId: { type: 'integer', nullable: true },
    kind: { type: 'string' },
    text: nullableString,
    attempts: { type: 'integer' },
    lastError: nullableString,
    receivedAt: instant,
  },
};

/** Routes: GET /admin/dead-letters, POST /admin/messages/:id/replay. */
export function deadLetterRoutes(a: AdminContext): FastifyPluginAsync {
  const db = a.ctx.database;
  return async (app) => {
    app.get<{ Querystring: { cursor?: string; limit: number } }>(
      '/admin/dead-letters',
      {
        schema: {
          operationId: 'listDeadLetters',
          summary: 'Inbound messages that failed every attempt (status dead), newest first',
          tags: ['messages'],
          querystring: {
            type: 'object',
            properties: {
              cursor: { type: 'string', pattern: '^[0-9]{1,18}$', description: 'nextCursor of the previous page' },
              limit: { type: 'integer', minimum: 1, maximum: 200, default: 50 },
            },
          },
          response: responses({
            200: {
              type: 'object',
              properties: {
                items: { type: 'array', items: deadLetter },
                nextCursor: { type: 'string', nullable: true },
              },
            },
          }),
        },
      },
      (req) => listDeadLetters(db, req.query.cursor ? Number(req.query.cursor) : undefined, req.query.limit),
    );

    app.post<{ Params: { id: number } }>(
      '/admin/messages/:id/replay',
      {
        schema: {
          operationId: 'replayMessage',
          summary: 'Put a dead letter back in the queue (pending, attempts 0, available now)',
          tags: ['messages'],
          params: idParams,
          response: responses(
            { 200: { type: 'object', properties: { id: { type: 'integer' }, status: { type: 'string' } } } },
            [404, 409],
          ),
        },
      },
      async (req) => {
        const id = req.params.id;
        const outcome = await replayDeadLetter(db, id);
        if (outcome === 'not_found') throw errors.notFound(`inbox message ${id} does not exist`);
        if (outcome === 'not_dead') throw adminErrors.notDead(id);
        await a.audit(req, 'message.replay', `inbox:${id}`);
        // Wake this process's workers now instead of at their next poll.
        a.deps.inboxEvents.emit('committed', [id]);
        return { id, status: 'pending' };
      },
    );
  };
}
