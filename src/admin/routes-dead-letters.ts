/** Dead letters: inbound messages that exhausted their attempts, and replaying them. */
import type { FastifyPluginAsync } from 'fastify';
import { errors } from '../http/errors.ts';
import type { AdminContext } from './context.ts';
import {
  type DeadLetterPage,
  type DeadLettersQuery,
  deadLetterPage,
  deadLettersQuery,
  type IdParams,
  idParams,
  type Replayed,
  replayed,
} from './contract.ts';
import { adminErrors } from './errors.ts';
import { listDeadLetters, replayDeadLetter } from './queries.ts';
import { input, responses } from './schemas.ts';

/** Routes: GET /admin/dead-letters, POST /admin/messages/:id/replay. */
export function deadLetterRoutes(a: AdminContext): FastifyPluginAsync {
  const db = a.ctx.database;
  return async (app) => {
    app.get<{ Querystring: DeadLettersQuery; Reply: DeadLetterPage }>(
      '/admin/dead-letters',
      {
        schema: {
          operationId: 'listDeadLetters',
          summary: 'Inbound messages that failed every attempt (status dead), newest first',
          tags: ['messages'],
          querystring: input(deadLettersQuery),
          response: responses({ 200: deadLetterPage }),
        },
      },
      (req) => listDeadLetters(db, req.query.cursor ? Number(req.query.cursor) : undefined, req.query.limit),
    );

    app.post<{ Params: IdParams; Reply: Replayed }>(
      '/admin/messages/:id/replay',
      {
        schema: {
          operationId: 'replayMessage',
          summary: 'Put a dead letter back in the queue (pending, attempts 0, available now)',
          tags: ['messages'],
          params: input(idParams),
          response: responses({ 200: replayed }, [404, 409]),
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
