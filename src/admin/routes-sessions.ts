/** Conversations ("sessions"): list, messages with timelines, reset, pause and resume. */
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { conversationToolCalls } from '../assistant-tools/timeline.ts';
import { markOperatorActive, resumeConversation } from '../db/conversation-states.ts';
import { errors } from '../http/errors.ts';
import type { AdminContext } from './context.ts';
import {
  type IdParams,
  idParams,
  type SessionMessages,
  type SessionMessagesQuery,
  type SessionPage,
  type SessionResponse,
  type SessionsQuery,
  sessionMessages,
  sessionMessagesQuery,
  sessionPage,
  sessionResponse,
  sessionsQuery,
} from './contract.ts';
import { conversationMessages, decodeCursor, getSession, listSessions, updateSession } from './queries.ts';
import { input, responses } from './schemas.ts';

/** Routes under /admin/sessions. */
export function sessionRoutes(a: AdminContext): FastifyPluginAsync {
  const db = a.ctx.database;
  return async (app) => {
    app.get<{ Querystring: SessionsQuery; Reply: SessionPage }>(
      '/admin/sessions',
      {
        schema: {
          operationId: 'listSessions',
          summary: 'Conversations, most recently active first (cursor pagination)',
          tags: ['sessions'],
          querystring: input(sessionsQuery),
          response: responses({ 200: sessionPage }),
        },
      },
      async (req) => {
        const { active, channel, q, cursor, limit, status } = req.query;
        const position = cursor ? decodeCursor(cursor) : undefined;
        if (cursor && !position) throw errors.badRequest('cursor is not a cursor returned by this API');
        return listSessions(db, { active, channel, q: q?.trim() || undefined, cursor: position, limit, status });
      },
    );

    app.get<{ Params: IdParams; Querystring: SessionMessagesQuery; Reply: SessionMessages }>(
      '/admin/sessions/:id/messages',
      {
        schema: {
          operationId: 'getSessionMessages',
          summary: "A conversation's messages, both directions, oldest first, each with its stage timeline",
          tags: ['sessions'],
          params: input(idParams),
          querystring: input(sessionMessagesQuery),
          response: responses({ 200: sessionMessages }, [404]),
        },
      },
      async (req) => {
        const session = await getSession(db, req.params.id);
        if (!session) throw errors.notFound(`conversation ${req.params.id} does not exist`);
        const messages = await conversationMessages(db, session.id, req.query.limit);
        const toolCalls = await conversationToolCalls(db, session.id, req.query.limit, a.ctx.config.secrets);
        // Reading someone's messages is an admin action worth a trace.
        await a.audit(req, 'session.read_messages', `conversation:${session.id}`);
        return { session, messages, toolCalls };
      },
    );

    const mutation = (
      path: string,
      operationId: string,
      action: string,
      summary: string,
      change: (id: number) => Promise<unknown>,
    ) =>
      app.post<{ Params: IdParams; Reply: SessionResponse }>(
        path,
        {
          schema: {
            operationId,
            summary,
            tags: ['sessions'],
            params: input(idParams),
            response: responses({ 200: sessionResponse }, [404]),
          },
        },
        async (req: FastifyRequest<{ Params: IdParams }>) => {
          await change(req.params.id);
          const session = await getSession(db, req.params.id);
          if (!session) throw errors.notFound(`conversation ${req.params.id} does not exist`);
          await a.audit(req, action, `conversation:${session.id}`);
          return { session };
        },
      );

    mutation(
      '/admin/sessions/:id/reset',
      'resetSession',
      'session.reset',
      'Forget the conversation history before now (the assistant starts afresh)',
      (id) => updateSession(db, id, { resetContext: true }),
    );
    mutation(
      '/admin/sessions/:id/pause',
      'pauseSession',
      'session.pause',
      'A human takes over: the bot stays silent',
      (id) => markOperatorActive(db, id),
    );
    mutation(
      '/admin/sessions/:id/resume',
      'resumeSession',
      'session.resume',
      'The bot answers again (ends a handoff); messages that arrived meanwhile stay unanswered until handed to the assistant',
      (id) => resumeConversation(db, id),
    );
  };
}
