import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { fromFastifyError } from '../http/errors.ts';
import { idParams, type Session, sandboxSendBody, session, sessionMessages, sessionsQuery } from './contract.ts';
import { input, responses, toSchema } from './schemas.ts';

const ana: Session = {
  id: 7,
  channel: 'whatsapp',
  chatId: '34600000001',
  userId: null,
  displayName: 'Ana',
  chatType: 'private',
  firstSeenAt: '2026-11-30T10:00:00.000Z',
  lastSeenAt: '2026-11-30T10:05:00.000Z',
  lastInboundAt: null,
  messagesIn: 2,
  messagesOut: 1,
  blocked: false,
  paused: false,
  contextResetAt: null,
  active: true,
  state: 'active',
  handoffRequestedAt: null,
  operatorActiveAt: null,
  optedOutAt: null,
  unanswered: 0,
  failed: 0,
};

describe('admin contract → JSON schema', () => {
  it('gives clients the same input rules the API always had', () => {
    expect(input(sessionsQuery)).toEqual({
      type: 'object',
      properties: {
        active: { type: 'boolean', description: 'true: last message within 30 minutes; false: older' },
        channel: { type: 'string', enum: ['whatsapp', 'telegram'] },
        q: { type: 'string', maxLength: 200, description: 'search in display name, chat id and user id' },
        cursor: { type: 'string', maxLength: 500, description: 'nextCursor of the previous page' },
        limit: { type: 'integer', minimum: 1, maximum: 200, default: 50 },
        status: {
          type: 'string',
          enum: ['needs_human', 'unanswered', 'failed', 'paused', 'opted_out'],
          description:
            'needs_human: waiting for a person; unanswered: has unanswered messages; failed: has failed replies',
        },
      },
    });
    expect(input(sandboxSendBody)).toEqual({
      type: 'object',
      required: ['channel', 'from'],
      additionalProperties: false,
      properties: {
        channel: { type: 'string', enum: ['whatsapp', 'telegram'] },
        from: {
          type: 'string',
          pattern: '^[1-9][0-9]{4,14}$',
          description: 'WhatsApp wa_id (phone digits) or Telegram user id',
        },
        name: { type: 'string', minLength: 1, maxLength: 64, default: 'Sandbox user' },
        text: {
          type: 'string',
          maxLength: 4096,
          default: '',
          description: 'the message, or the caption of `media`; required without media',
        },
        media: {
          type: 'object',
          description: 'send a media message (voice note, image or document) instead of a text',
          required: ['id', 'kind'],
          additionalProperties: false,
          properties: {
            id: { type: 'string', pattern: '^[0-9]{1,32}$', description: 'from POST /admin/sandbox/media' },
            kind: { type: 'string', enum: ['voice', 'image', 'document'] },
          },
        },
      },
    });
  });

  it('documents answers with their required fields and nullable ones', () => {
    const s = toSchema(session, 'output');
    expect(s.required).toEqual(Object.keys(ana));
    expect(s.additionalProperties).toBe(false);
    expect((s.properties as Record<string, unknown>).userId).toEqual({ type: 'string', nullable: true });
    expect((s.properties as Record<string, unknown>).lastSeenAt).toEqual({ type: 'string', format: 'date-time' });
    expect((s.properties as Record<string, unknown>).id).toEqual({ type: 'integer' });
  });
});

describe('admin contract in a Fastify route', () => {
  async function appWith(answer: unknown) {
    const app = Fastify();
    // The mapping src/http/app.ts installs: Fastify's validation errors become `{error: {code, message}}`.
    app.setErrorHandler((err, _req, reply) => {
      const e = fromFastifyError(err as Parameters<typeof fromFastifyError>[0]);
      if (!e) throw err;
      return reply.status(e.statusCode).send({ error: { code: e.code, message: e.message } });
    });
    app.get(
      '/s/:id',
      {
        schema: {
          params: input(idParams),
          response: responses({ 200: sessionMessages }, [404]),
        },
      },
      async () => answer,
    );
    await app.ready();
    return app;
  }

  it('never sends a field the contract does not declare, at any depth', async () => {
    const leaky = {
      session: { ...ana, keyHash: 'secret-hash', raw: { token: 'x' } },
      messages: [
        {
          direction: 'in',
          id: 1,
          at: '2026-11-30T10:00:00.000Z',
          kind: 'text',
          text: 'Hola',
          format: 'plain',
          status: 'done',
          attempts: 1,
          timeline: [{ stage: 'received', at: '2026-11-30T10:00:00.000Z', leaseOwner: 'w1' }],
          failureReason: null,
          relatedId: null,
          part: null,
          author: 'user',
          template: null,
          media: null,
          event: { secret: 'payload' },
        },
      ],
      debug: 'internal',
    };
    const app = await appWith(leaky);
    const res = await app.inject({ url: '/s/7' });
    expect(res.statusCode).toBe(200);
    expect(res.body).not.toMatch(/secret|leaseOwner|internal|keyHash|token/);
    const body = res.json();
    expect(body.session).toEqual(ana);
    expect(Object.keys(body)).toEqual(['session', 'messages']);
    expect(body.messages[0].timeline).toEqual([{ stage: 'received', at: '2026-11-30T10:00:00.000Z' }]);
    await app.close();
  });

  it('validates parameters from the same contract (a non-integer id is a 400 with the validation detail)', async () => {
    const app = await appWith({ session: ana, messages: [] });
    const res = await app.inject({ url: '/s/abc' });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({
      error: { code: 'bad_request', message: expect.stringMatching(/id must be integer/) },
    });
    expect((await app.inject({ url: '/s/0' })).statusCode).toBe(400);
    await app.close();
  });
});
