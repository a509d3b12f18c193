/**
 * A voice note that arrives while a person has the conversation (handoff, "needs human"), over
 * real HTTP against a whole sandbox WADI on PostgreSQL, sent the way the dashboard's Try it sends
 * it (POST /admin/sandbox/media, then /admin/sandbox/send with the media id):
 *
 * - it is stored `unanswered`, not answered, and no chat request is made;
 * - it is downloaded and transcribed once, while paused (the existing handoff semantics: the
 *   transcript is what the operator reads in the conversation view and what the assistant reads later);
 * - handing it to the assistant is refused while the bot is paused and changes nothing;
 * - after resume + "hand to the assistant" it is answered exactly once, from the stored transcript
 *   (no second download or transcription), and handing again queues nothing.
 *
 * A photo handed to the assistant after a handoff is shown to the (vision) model as the image with
 * its caption, not only as its stored "[image] caption" text; one whose file is gone by then is
 * answered from that text rather than with "send it again".
 *
 * Also the upload/send API's bad input: clear 400s, nothing stored.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SandboxCall, SandboxState } from '../../src/sandbox/state.ts';
import { type TestDb, testDatabase } from '../helpers/db.ts';
import { sandboxChat } from '../helpers/sandbox-chat.ts';
import { startTestWadi, TEST_ADMIN_KEY, type TestWadi } from '../helpers/wadi.ts';

let t: TestDb;
let w: TestWadi;
const chat = sandboxChat(() => w.url);
const state = () => w.wadi.wiring.sandboxState as SandboxState;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Stores `bytes` in the sandbox media store through the admin API, as Try it does. */
async function upload(bytes: Buffer | Uint8Array, type: string, filename?: string) {
  const q = filename ? `?filename=${encodeURIComponent(filename)}` : '';
  const res = await fetch(`${w.url}/admin/sandbox/media${q}`, {
    method: 'POST',
    headers: { 'x-admin-key': TEST_ADMIN_KEY, 'content-type': type },
    body: new Uint8Array(bytes),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> & { id: string } };
}

async function inboxRows(chatId: string) {
  return (
    await t.database.query<{ status: string; kind: string; media: { outcome?: string; text?: string } | null }>(
      'select status, kind, media from inbox_messages where chat_id = $1 order by id',
      [chatId],
    )
  ).rows;
}

async function until<T>(what: string, fn: () => Promise<T | undefined | false>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

const textsTo = (to: string) =>
  state()
    .calls('whatsapp')
    .filter((c) => c.kind === 'send_text' && c.status === 200 && (c.body as { to?: string }).to === to)
    .map((c) => (c.body as { text: { body: string } }).text.body);
const llm = (kind: string, marker?: string): SandboxCall[] =>
  state()
    .calls('llm')
    .filter((c) => c.kind === kind && (marker === undefined || JSON.stringify(c.body).includes(marker)));

describe('a voice note while a person has the conversation', () => {
  beforeAll(async () => {
    t = await testDatabase();
    w = await startTestWadi(t.database, {
      env: {
        WADI_SANDBOX: 'true',
        WADI_SANDBOX_LLM: 'true',
        COALESCE_DEBOUNCE_MS: '0',
        WORKER_POLL_MS: '50',
        OPENAI_MAX_RETRIES: '1',
        ASSISTANT_VISION: 'true',
        LOG_LEVEL: 'warn',
      },
    });
  }, 60_000);
  afterAll(async () => {
    await w?.stop();
    await t?.drop();
  });

  it('refuses bad uploads and sends with a clear 400 and stores nothing', async () => {
    const user = '34633000009';
    const empty = await upload(Buffer.alloc(0), 'audio/ogg');
    expect(empty.status).toBe(400);
    const noType = await fetch(`${w.url}/admin/sandbox/media`, {
      method: 'POST',
      headers: { 'x-admin-key': TEST_ADMIN_KEY, 'content-type': 'not a type' },
      body: new Uint8Array([0, 0xff, 0xd8]),
    });
    // Fastify refuses a Content-Type that is not one (415) before the route runs.
    expect(noType.status).toBe(415);
    const noKey = await fetch(`${w.url}/admin/sandbox/media`, {
      method: 'POST',
      headers: { 'content-type': 'audio/ogg' },
      body: new Uint8Array([1, 2, 3]),
    });
    expect(noKey.status).toBe(401);
    const unknown = await chat.admin('POST', '/sandbox/send', {
      channel: 'whatsapp',
      from: user,
      media: { id: '1234567890123456', kind: 'voice' },
    });
    expect(unknown.status).toBe(400);
    expect(JSON.stringify(unknown.json)).toMatch(/not in the sandbox media store/);
    const nothing = await chat.admin('POST', '/sandbox/send', { channel: 'whatsapp', from: user, text: '  ' });
    expect(nothing.status).toBe(400);
    const badKind = await chat.admin('POST', '/sandbox/send', {
      channel: 'whatsapp',
      from: user,
      media: { id: '1', kind: 'video' },
    });
    expect(badKind.status).toBe(400);
    expect(await inboxRows(user)).toEqual([]);
  });

  it('is stored unanswered, and answered exactly once after resume and hand to the assistant', async () => {
    const user = '34633000001';
    await chat.userSays(user, 'hola');
    await until('the first answer', async () => textsTo(user).length === 1);
    await chat.userSays(user, '/human');
    await until('the handoff notice', async () => textsTo(user).length === 2);
    const id = await chat.conversationId(user);

    // The fake transcriber "hears" UTF-8 bytes as their text.
    const transcript = 'necesito cambiar mi reserva del viernes, ¿se puede? 🙏';
    const bytes = Buffer.from(transcript);
    const up = await upload(bytes, 'audio/ogg', 'nota.ogg');
    expect(up.status).toBe(201);
    expect(up.json).toMatchObject({ mimeType: 'audio/ogg', fileName: 'nota.ogg', size: bytes.length });
    const sent = await chat.admin('POST', '/sandbox/send', {
      channel: 'whatsapp',
      from: user,
      media: { id: up.json.id, kind: 'voice' },
    });
    expect(sent.status, JSON.stringify(sent.json)).toBe(200);

    const rows = await until('the voice note stored unanswered', async () => {
      const r = await inboxRows(user);
      return r.length === 3 && r[2].status === 'unanswered' ? r : undefined;
    });
    expect(rows[2]).toMatchObject({ kind: 'audio', media: { outcome: 'transcribed' } });
    expect(rows[2].media?.text).toContain('necesito cambiar mi reserva');
    // Nothing was said to the user and the model was not asked.
    await sleep(800);
    expect(textsTo(user)).toHaveLength(2);
    expect(llm('chat_completion', 'necesito cambiar mi reserva')).toHaveLength(0);
    const transcriptions = llm('transcription').length;
    expect(transcriptions).toBe(1);
    const downloads = () =>
      state()
        .calls('whatsapp')
        .filter((c) => c.kind === 'media_download' && c.status === 200);
    expect(downloads()).toHaveLength(1);

    // The operator sees it as unanswered, with what WADI understood.
    const view = await chat.admin<{
      session: { unanswered: number };
      messages: { direction: string; status: string; media: { kind: string; text: string | null } | null }[];
    }>('GET', `/sessions/${id}/messages`);
    expect(view.json.session.unanswered).toBe(1);
    const inbound = view.json.messages.filter((m) => m.direction === 'in');
    expect(inbound.at(-1)).toMatchObject({ status: 'unanswered', media: { kind: 'audio' } });
    expect(inbound.at(-1)?.media?.text).toContain('necesito cambiar mi reserva');

    // Still paused: handing it to the assistant is refused and changes nothing.
    const early = await chat.admin<{ error: { code: string } }>('POST', `/sessions/${id}/answer`);
    expect(early.status).toBe(409);
    expect(early.json.error.code).toBe('paused');
    expect((await inboxRows(user))[2].status).toBe('unanswered');

    // Resume: the bot answers new messages again, but the old one waits for the operator's decision.
    expect((await chat.admin('POST', `/sessions/${id}/resume`)).status).toBe(200);
    await sleep(800);
    expect(textsTo(user)).toHaveLength(2);
    expect((await inboxRows(user))[2].status).toBe('unanswered');

    const handed = await chat.admin<{ queued: number }>('POST', `/sessions/${id}/answer`);
    expect(handed.status).toBe(200);
    expect(handed.json.queued).toBe(1);
    await until('the answer to the voice note', async () => textsTo(user).length === 3);
    await sleep(1000);
    const texts = textsTo(user);
    expect(texts).toHaveLength(3);
    expect(texts[2]).toContain('necesito cambiar mi reserva');
    // One chat request, with the transcript once (from the history), no second download or transcription.
    const asks = llm('chat_completion', 'necesito cambiar mi reserva');
    expect(asks).toHaveLength(1);
    const userTurns = (asks[0].body as { messages: { role: string; content: unknown }[] }).messages.filter(
      (m) => m.role === 'user' && JSON.stringify(m.content).includes('necesito cambiar mi reserva'),
    );
    expect(userTurns).toHaveLength(1);
    expect(llm('transcription')).toHaveLength(transcriptions);
    expect(downloads()).toHaveLength(1);
    expect((await inboxRows(user))[2].status).toBe('done');

    // Handing again queues nothing and sends nothing.
    const again = await chat.admin<{ queued: number }>('POST', `/sessions/${id}/answer`);
    expect(again.json.queued).toBe(0);
    await sleep(800);
    expect(textsTo(user)).toHaveLength(3);
  });

  it('a photo sent during a handoff reaches the vision model as the image when handed to the assistant', async () => {
    const user = '34633000002';
    await chat.userSays(user, '/human');
    await until('the handoff notice', async () => textsTo(user).length === 1);
    const id = await chat.conversationId(user);
    // A 1×1 PNG; its exact base64 must be what the model receives.
    const png = Buffer.from(
      'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
      'base64',
    );
    const photo = await upload(png, 'image/png', 'pared.png');
    expect(photo.status).toBe(201);
    const caption = 'mira esta mancha en la pared ¿es humedad? 🧱';
    const sent = await chat.admin('POST', '/sandbox/send', {
      channel: 'whatsapp',
      from: user,
      text: caption,
      media: { id: photo.json.id, kind: 'image' },
    });
    expect(sent.status, JSON.stringify(sent.json)).toBe(200);
    // A second photo whose file is gone (deleted from the fake's store) before it is handed over.
    const other = await upload(png, 'image/png', 'techo.png');
    const otherCaption = 'y esta otra del techo';
    await chat.admin('POST', '/sandbox/send', {
      channel: 'whatsapp',
      from: user,
      text: otherCaption,
      media: { id: other.json.id, kind: 'image' },
    });
    const rows = await until('both photos stored unanswered', async () => {
      const r = await inboxRows(user);
      return r.length === 3 && r[1].status === 'unanswered' && r[2].status === 'unanswered' ? r : undefined;
    });
    expect(rows[1].media).toMatchObject({ outcome: 'image', text: `[image] ${caption}` });
    expect(llm('chat_completion', 'mancha en la pared')).toHaveLength(0);
    expect((await fetch(`${w.url}/sandbox/media/${other.json.id}`, { method: 'DELETE' })).status).toBe(200);

    expect((await chat.admin('POST', `/sessions/${id}/resume`)).status).toBe(200);
    const handed = await chat.admin<{ queued: number }>('POST', `/sessions/${id}/answer`);
    expect(handed.json.queued).toBe(2);
    await until('the answer to the photos', async () => textsTo(user).length === 2);
    await sleep(1000);
    const texts = textsTo(user);
    expect(texts).toHaveLength(2);
    // Not "No pude descargar la imagen. Por favor, envíalo de nuevo." for the gone one.
    expect(texts[1]).not.toMatch(/envíal[oa] de nuevo/);

    const asks = llm('chat_completion', 'mancha en la pared');
    expect(asks).toHaveLength(1);
    const messages = (asks[0].body as { messages: { role: string; content: unknown }[] }).messages;
    const withImage = messages.filter(
      (m) =>
        m.role === 'user' &&
        Array.isArray(m.content) &&
        (m.content as { type: string; image_url?: { url: string } }[]).some(
          (p) => p.type === 'image_url' && p.image_url?.url === `data:image/png;base64,${png.toString('base64')}`,
        ),
    );
    expect(withImage).toHaveLength(1);
    expect(JSON.stringify(withImage[0].content)).toContain('mira esta mancha en la pared');
    // The gone photo's caption is still in the prompt, from the history.
    expect(JSON.stringify(messages)).toContain(`[image] ${otherCaption}`);
    expect((await inboxRows(user)).map((r) => r.status)).toEqual(['done', 'done', 'done']);
  });

  it('messages handed to the assistant after an operator replied end the prompt, after the operator', async () => {
    const user = '34633000003';
    await chat.userSays(user, '/human');
    await until('the handoff notice', async () => textsTo(user).length === 1);
    const id = await chat.conversationId(user);
    const question = '¿me devuelven el dinero del pedido 7781? ñ 😀';
    await chat.userSays(user, question);
    await until('the question stored unanswered', async () => (await inboxRows(user))[1]?.status === 'unanswered');
    const op = await chat.admin('POST', `/sessions/${id}/messages`, {
      text: 'Hola, soy Marta; te paso con el asistente',
    });
    expect(op.status).toBe(202);
    await until('the operator reply', async () => textsTo(user).length === 2);
    expect((await chat.admin('POST', `/sessions/${id}/resume`)).status).toBe(200);
    expect((await chat.admin<{ queued: number }>('POST', `/sessions/${id}/answer`)).json.queued).toBe(1);
    await until('the answer', async () => textsTo(user).length === 3);
    const asks = llm('chat_completion', 'pedido 7781');
    expect(asks).toHaveLength(1);
    const messages = (asks[0].body as { messages: { role: string; content: unknown }[] }).messages;
    const last = messages.at(-1);
    expect(last?.role).toBe('user');
    expect(JSON.stringify(last?.content)).toContain('pedido 7781');
    // The operator's words stay before it, as the assistant's side of the conversation.
    const opAt = messages.findIndex((m) => JSON.stringify(m.content).includes('soy Marta'));
    expect(opAt).toBeGreaterThan(-1);
    expect(messages[opAt].role).toBe('assistant');
    expect(opAt).toBeLessThan(messages.length - 1);
    expect(textsTo(user)[2]).toContain('pedido 7781');
  });
});
