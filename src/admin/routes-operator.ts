/**
 * People in the loop: an operator's reply (`POST /admin/sessions/:id/messages`), a WhatsApp
 * template to re-engage a user (`POST /admin/sessions/:id/template`), handing the messages that
 * arrived while paused to the assistant (`POST /admin/sessions/:id/answer`), and erasing a user
 * (`DELETE /admin/users/:channel/:id`). Every one is audited with the caller's key fingerprint;
 * message bodies never reach the audit log.
 */
import type { FastifyPluginAsync } from 'fastify';
import { appendHistory } from '../conversation/history.ts';
import { markOperatorActive } from '../db/conversation-states.ts';
import { eraseUser, userHash } from '../db/erasure.ts';
import { AppError, errors } from '../http/errors.ts';
import { handUnansweredToAssistant } from '../inbox/unanswered.ts';
import { enqueueOperatorMessage, enqueueTemplate } from '../outbox/operator.ts';
import { type AdminContext, actorOf } from './context.ts';
import {
  type AnswerQueued,
  answerQueued,
  type Failures,
  failuresQuery,
  failures as failuresSchema,
  type IdParams,
  idParams,
  type OperatorMessageBody,
  type OperatorMessageSent,
  operatorMessageBody,
  operatorMessageSent,
  type StatusView,
  statusView as statusViewSchema,
  type TemplateBody,
  templateBody,
  type UserErased,
  type UserParams,
  userErased,
  userParams,
} from './contract.ts';
import { conversationMessages, getSession } from './queries.ts';
import { input, responses } from './schemas.ts';
import { failuresView, statusView } from './status.ts';

/** What the admin API needs beyond the module context. */
export interface OperatorRoutesOptions {
  /** Wakes this process's dispatcher (sends go out at its next poll otherwise). */
  readonly wakeOutbox?: () => void;
  /** Wakes this process's workers after unanswered messages were queued. */
  readonly wakeInbox?: (ids: number[]) => void;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Why a text cannot be stored or sent, or undefined when it can. */
export function textProblem(text: string): string | undefined {
  if (text.trim() === '') return 'text must not be blank';
  // PostgreSQL text cannot hold NUL, and neither platform accepts it.
  if (text.includes('\u0000')) return 'text must not contain NUL characters';
  if (LONE_SURROGATE.test(text)) return 'text must be valid Unicode (it contains a lone surrogate)';
  return undefined;
}

const conflict = (code: string, message: string) => new AppError(code, 409, message);
const target = (s: { channel: string; chatId: string; id: number }) => ({
  channel: s.channel,
  chatId: s.chatId,
  conversationId: s.id,
});

/** The routes. */
export function operatorRoutes(a: AdminContext, opts: OperatorRoutesOptions = {}): FastifyPluginAsync {
  const db = a.ctx.database;
  return async (app) => {
    app.post<{ Params: IdParams; Body: OperatorMessageBody; Reply: OperatorMessageSent }>(
      '/admin/sessions/:id/messages',
      {
        schema: {
          operationId: 'sendOperatorMessage',
          summary: "Send an operator's reply through the outbox (the bot stays silent while a person answers)",
          tags: ['sessions'],
          params: input(idParams),
          body: input(operatorMessageBody),
          response: responses({ 202: operatorMessageSent }, [404, 409]),
        },
      },
      async (req, reply) => {
        const problem = textProblem(req.body.text);
        if (problem) throw errors.badRequest(problem);
        const session = await getSession(db, req.params.id);
        if (!session) throw errors.notFound(`conversation ${req.params.id} does not exist`);
        if (session.blocked) throw conflict('blocked', 'the user blocked the bot: nothing can be sent to them');
        const by = actorOf(req);
        const text = req.body.text;
        const ids = await db.transaction(async (tx) => {
          const queued = await enqueueOperatorMessage(tx, target(session), [text], by);
          // The assistant sees what the person said when it answers again.
          await appendHistory(tx, session.id, [{ role: 'assistant', content: text }]);
          await markOperatorActive(tx, session.id);
          return queued;
        });
        await a.audit(req, 'session.operator_message', `conversation:${session.id}`, {
          outboxIds: ids,
          chars: text.length,
        });
        opts.wakeOutbox?.();
        const after = await getSession(db, session.id);
        const messages = (await conversationMessages(db, session.id, 1000)).filter(
          (m) => m.direction === 'out' && ids.includes(m.id),
        );
        reply.status(202);
        return { session: after ?? session, messages };
      },
    );

    app.post<{ Params: IdParams; Body: TemplateBody; Reply: OperatorMessageSent }>(
      '/admin/sessions/:id/template',
      {
        schema: {
          operationId: 'sendTemplate',
          summary: 'Re-engage a WhatsApp user with an approved template (works outside the 24 h window)',
          tags: ['sessions'],
          params: input(idParams),
          body: input(templateBody),
          response: responses({ 202: operatorMessageSent }, [404, 409]),
        },
      },
      async (req, reply) => {
        const { name, language, parameters } = req.body;
        for (const p of parameters) {
          const problem = textProblem(p);
          if (problem) throw errors.badRequest(`parameters: ${problem}`);
          if (/[\n\t]| {5,}/.test(p)) {
            throw errors.badRequest('parameters cannot contain new lines, tabs or more than four spaces in a row');
          }
        }
        const session = await getSession(db, req.params.id);
        if (!session) throw errors.notFound(`conversation ${req.params.id} does not exist`);
        if (session.channel !== 'whatsapp') {
          throw errors.badRequest('templates are a WhatsApp feature; write a message instead');
        }
        if (session.blocked) throw conflict('blocked', 'the user blocked the bot: nothing can be sent to them');
        if (session.optedOutAt) {
          // Recorded: an operator tried to reach a user who asked not to be contacted.
          await a.audit(req, 'session.template_refused', `conversation:${session.id}`, { reason: 'opted_out', name });
          throw conflict(
            'opted_out',
            'the user opted out of proactive messages; they opt back in by writing one of OPT_IN_KEYWORDS (START, ALTA by default)',
          );
        }
        const by = actorOf(req);
        const id = await db.transaction(async (tx) => {
          const queued = await enqueueTemplate(tx, target(session), { name, language, parameters }, by);
          await markOperatorActive(tx, session.id);
          return queued;
        });
        await a.audit(req, 'session.template', `conversation:${session.id}`, {
          outboxId: id,
          name,
          language,
          parameters: parameters.length,
        });
        opts.wakeOutbox?.();
        const after = await getSession(db, session.id);
        const messages = (await conversationMessages(db, session.id, 1000)).filter(
          (m) => m.direction === 'out' && m.id === id,
        );
        reply.status(202);
        return { session: after ?? session, messages };
      },
    );

    app.post<{ Params: IdParams; Reply: AnswerQueued }>(
      '/admin/sessions/:id/answer',
      {
        schema: {
          operationId: 'answerUnanswered',
          summary: 'Hand the messages that arrived while paused to the assistant (after resuming the bot)',
          tags: ['sessions'],
          params: input(idParams),
          response: responses({ 200: answerQueued }, [404, 409]),
        },
      },
      async (req) => {
        const outcome = await handUnansweredToAssistant(db, req.params.id);
        if ('refused' in outcome) {
          if (outcome.refused === 'not_found') throw errors.notFound(`conversation ${req.params.id} does not exist`);
          throw conflict('paused', 'the bot is paused in this conversation: resume it first');
        }
        await a.audit(req, 'session.answer_unanswered', `conversation:${req.params.id}`, {
          inboxIds: outcome.queued,
        });
        if (outcome.queued.length > 0) opts.wakeInbox?.(outcome.queued);
        const session = await getSession(db, req.params.id);
        if (!session) throw errors.notFound(`conversation ${req.params.id} does not exist`);
        return { session, queued: outcome.queued.length };
      },
    );

    app.get<{ Reply: StatusView }>(
      '/admin/status',
      {
        schema: {
          operationId: 'getStatus',
          summary:
            'Are users being answered? Last inbound per channel, messages per minute, time to reply, what needs attention',
          tags: ['ops'],
          response: responses({ 200: statusViewSchema }),
        },
        logLevel: 'warn',
      },
      () => statusView(db),
    );

    app.get<{ Querystring: { limit: number }; Reply: Failures }>(
      '/admin/failures',
      {
        schema: {
          operationId: 'listFailures',
          summary: 'Failed and retrying outbound messages (reason, next attempt) and dead letters (replayable)',
          tags: ['messages'],
          querystring: input(failuresQuery),
          response: responses({ 200: failuresSchema }),
        },
      },
      (req) => failuresView(db, req.query.limit),
    );

    app.delete<{ Params: UserParams; Reply: UserErased }>(
      '/admin/users/:channel/:id',
      {
        schema: {
          operationId: 'eraseUser',
          summary:
            'Erase a user: their messages, replies, delivery statuses, history, tool calls, unstorable deliveries and conversations',
          tags: ['users'],
          params: input(userParams),
          response: responses({ 200: userErased }, [404]),
        },
      },
      async (req) => {
        const { channel, id } = req.params;
        const erased = await db.transaction((tx) => eraseUser(tx, channel, id));
        const hash = userHash(channel, id);
        const nothing = Object.values(erased).every((n) => n === 0);
        // The audit keeps a hash: it proves the erasure without keeping who was erased.
        await a.audit(req, 'user.erase', `user:${hash.slice(0, 16)}`, { channel, userHash: hash, ...erased });
        if (nothing) throw errors.notFound(`no data is stored for this ${channel} user`);
        return { channel, userHash: hash, erased };
      },
    );
  };
}
