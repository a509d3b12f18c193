/**
 * Issue 18 end to end: one whole WADI in sandbox mode on a real database, driven by signed
 * webhooks over HTTP, answered by the fake OpenAI-compatible API, sending through the fake Graph
 * API and the fake Bot API (which parses HTML as Telegram does). Checks what a user would see:
 * formatted replies with no raw Markdown, the plain-text resend, context-too-long recovery, the
 * dead-letter notice, typing that lasts, and the dashboard showing what was actually sent.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { SandboxCall, SandboxFault, SandboxState } from '../../src/sandbox/state.ts';
import { parseTelegramHtml } from '../../src/sandbox/telegram-html.ts';
import { adminClient } from '../helpers/admin.ts';
import { postTelegram, postWhatsapp } from '../helpers/cluster.ts';
import { type TestDb, testDatabase } from '../helpers/db.ts';
import { startTestWadi, type TestWadi } from '../helpers/wadi.ts';

let t: TestDb;
let w: TestWadi;
let seq = 0;
const CORPUS = path.join(import.meta.dirname, '../fixtures/markdown');
const corpus = (name: string) => readFileSync(path.join(CORPUS, `${name}.md`), 'utf8');

const sandbox = () => w.wadi.wiring.sandboxState as SandboxState;
const fault = (f: Omit<SandboxFault, 'count'> & { count?: number }) => sandbox().addFault({ count: 1, ...f });
const q = async <T = Record<string, unknown>>(sql: string, params: unknown[] = []) =>
  (await t.database.query<T>(sql, params)).rows;

async function until<T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, ms = 30_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const waUser = () => `3460${String(Date.now() % 1e7).padStart(7, '0')}${seq++ % 10}`;
const tgUser = () => 700_000_000 + Math.floor(Math.random() * 1e8);

/** Sends a WhatsApp text and waits for it to be stored. */
async function fromWhatsapp(from: string, text: string): Promise<string> {
  const id = `wamid.fmt.${Date.now()}.${seq++}`;
  expect(await postWhatsapp(w.url, { from, id, text })).toBe(200);
  return id;
}
async function fromTelegram(chatId: number, text: string): Promise<void> {
  expect(await postTelegram(w.url, { updateId: 10_000 + seq++, chatId, text })).toBe(200);
}

const waSends = (to: string): SandboxCall[] =>
  sandbox()
    .calls('whatsapp')
    .filter((c) => c.kind === 'send_text' && (c.body as { to?: string }).to === to);
const waText = (c: SandboxCall) => (c.body as { text: { body: string } }).text.body;
const tgSends = (chatId: number): SandboxCall[] =>
  sandbox()
    .calls('telegram')
    .filter((c) => c.kind === 'sendMessage' && String((c.body as { chat_id?: unknown }).chat_id) === String(chatId));
const tgBody = (c: SandboxCall) => c.body as { text: string; parse_mode?: string };
const llmCalls = () => sandbox().calls('llm');

const admin = adminClient(() => w.url);

beforeAll(async () => {
  t = await testDatabase();
  w = await startTestWadi(t.database, {
    env: {
      WADI_SANDBOX: 'true',
      WADI_SANDBOX_LLM: 'true',
      TELEGRAM_MODE: 'webhook',
      COALESCE_DEBOUNCE_MS: '50',
      WORKER_POLL_MS: '50',
      INBOX_MAX_ATTEMPTS: '1',
      INBOX_RETRY_BASE_MS: '50',
      OUTBOX_RETRY_BASE_MS: '20',
      OPENAI_TIMEOUT_MS: '60000',
      OPENAI_MAX_RETRIES: '0',
      // Short refresh so the fast typing test needs no long wait; the real-time test below uses the default.
      WHATSAPP_TYPING_REFRESH_MS: '300',
      // Room for the long corpus answer (the fake, like a real server, stops at max_tokens).
      ASSISTANT_MAX_OUTPUT_TOKENS: '2000',
      LOG_LEVEL: 'info',
    },
  });
}, 60_000);
afterAll(async () => {
  await w?.stop();
  await t?.drop();
});
beforeEach(() => {
  for (const f of sandbox().pendingFaults()) f.count = 0;
});

describe('replies that read right on each channel', () => {
  it('WhatsApp: the model Markdown arrives as WhatsApp markup, no ** or ### left', async () => {
    const user = waUser();
    fault({ channel: 'llm', kind: 'chat_completion', text: `### Resumen\n\n${corpus('nested-emphasis')}` });
    await fromWhatsapp(user, 'resúmelo');
    const [sent] = await until('the reply', () => waSends(user).length > 0 && waSends(user));
    const body = waText(sent);
    expect(body).not.toMatch(/\*\*|###/);
    expect(body).toContain('*Resumen*');
    expect(body).toContain('*¡Claro!* Aquí tienes un resumen _muy_ rápido:');
    expect(body).toContain('- Esto ~ya no aplica~ *ya no aplica en la versión 2.0*.');
  });

  it('Telegram: HTML that the fake Bot API parses as Telegram does, across a 4096 cut inside code', async () => {
    const chat = tgUser();
    fault({ channel: 'llm', kind: 'chat_completion', text: corpus('long-code') });
    await fromTelegram(chat, 'the script please');
    const sends = await until('both parts', () => tgSends(chat).length >= 2 && tgSends(chat), 8000).catch((e) => {
      console.log(
        JSON.stringify(
          sandbox()
            .calls('telegram')
            .slice(-3)
            .map((c) => [c.kind, c.status, (c.body as { text?: string }).text?.length]),
        ),
        JSON.stringify(
          sandbox()
            .calls('llm')
            .slice(-1)
            .map((c) => c.status),
        ),
      );
      throw e;
    });
    expect(sends.map((c) => c.status)).toEqual([200, 200]);
    for (const c of sends) {
      expect(tgBody(c).parse_mode).toBe('HTML');
      const parsed = parseTelegramHtml(tgBody(c).text);
      expect(parsed.ok).toBe(true);
      expect(tgBody(c).text).toContain('<pre><code class="language-python">');
      expect(tgBody(c).text).not.toMatch(/```|\*\*/);
    }
  });

  it('Telegram: a part refused for its entities is resent once as plain text, counted, and shown as sent', async () => {
    const chat = tgUser();
    fault({ channel: 'llm', kind: 'chat_completion', text: 'Hola **Ana**, mira [esto](https://x.io/a?b=1&c=2).' });
    fault({
      channel: 'telegram',
      kind: 'sendMessage',
      status: 400,
      code: 400,
      description: 'Bad Request: can\'t parse entities: Unsupported start tag "x" at byte offset 0',
    });
    await fromTelegram(chat, 'hola');
    const sends = await until('the resend', () => tgSends(chat).length >= 2 && tgSends(chat));
    expect(sends.map((c) => c.status)).toEqual([400, 200]);
    expect(tgBody(sends[0])).toMatchObject({
      parse_mode: 'HTML',
      text: 'Hola <b>Ana</b>, mira <a href="https://x.io/a?b=1&amp;c=2">esto</a>.',
    });
    expect(tgBody(sends[1]).parse_mode).toBeUndefined();
    expect(tgBody(sends[1]).text).toBe('Hola Ana, mira esto (https://x.io/a?b=1&c=2).');
    const metricsText = await (await fetch(`${w.url}/metrics`)).text();
    expect(metricsText).toMatch(/^wadi_telegram_plain_fallbacks_total [1-9]/m);
    // The dashboard shows the plain text that actually went out.
    const [conv] = await q<{ id: number }>(`select id from conversations where channel = 'telegram' and chat_id = $1`, [
      String(chat),
    ]);
    const view = await until('sent recorded', async () => {
      const r = await admin(`/admin/sessions/${conv.id}/messages`);
      const out = (r.body.messages as { direction: string; status: string }[]).filter((m) => m.direction === 'out');
      return out[0]?.status === 'sent' && out;
    });
    expect(view[0]).toMatchObject({ format: 'plain', text: 'Hola Ana, mira esto (https://x.io/a?b=1&c=2).' });
  });

  it("WADI's own texts go through the renderer too, and the dashboard shows them as sent", async () => {
    const chat = tgUser();
    await fromTelegram(chat, '/help');
    const [sent] = await until('the help', () => tgSends(chat).length > 0 && tgSends(chat));
    expect(sent.status).toBe(200);
    expect(tgBody(sent).parse_mode).toBe('HTML');
    const [conv] = await q<{ id: number }>(`select id from conversations where channel = 'telegram' and chat_id = $1`, [
      String(chat),
    ]);
    const r = await until('sent recorded', async () => {
      const x = await admin(`/admin/sessions/${conv.id}/messages`);
      const out = (x.body.messages as { direction: string; status: string }[]).filter((m) => m.direction === 'out');
      return out[0]?.status === 'sent' && out;
    });
    expect(r[0]).toMatchObject({ format: 'telegram_html', text: tgBody(sent).text });
  });
});

describe('no silent failures', () => {
  it('context too long once: one trimmed retry, and the user gets the answer', async () => {
    const user = waUser();
    for (const text of ['primera pregunta larga', 'segunda pregunta larga', 'tercera pregunta larga']) {
      const n = waSends(user).length;
      await fromWhatsapp(user, text);
      await until('an answer', () => waSends(user).length > n);
    }
    const before = llmCalls().length;
    fault({ channel: 'llm', kind: 'chat_completion', context_length: 'vllm' });
    await fromWhatsapp(user, 'la cuarta');
    await until('the answer', () => waSends(user).length === 4);
    const calls = llmCalls().slice(before);
    expect(calls.map((c) => c.status)).toEqual([400, 200]);
    const sizes = calls.map((c) => (c.body as { messages: unknown[] }).messages.length);
    expect(sizes[1]).toBeLessThan(sizes[0]);
    expect(waText(waSends(user)[3])).toBe('[sandbox] la cuarta');
  });

  it('context too long twice: one apology, the turn is done, no dead letter', async () => {
    const user = waUser();
    const before = llmCalls().length;
    fault({ channel: 'llm', kind: 'chat_completion', context_length: 'openai', count: 2 });
    const id = await fromWhatsapp(user, 'algo enorme');
    const [sent] = await until('the apology', () => waSends(user).length > 0 && waSends(user));
    expect(waText(sent)).toMatch(/^Lo siento, la conversación se ha hecho demasiado larga/);
    await new Promise((r) => setTimeout(r, 500));
    expect(waSends(user)).toHaveLength(1);
    expect(
      llmCalls()
        .slice(before)
        .map((c) => c.status),
    ).toEqual([400, 400]);
    const [msg] = await q<{ status: string }>(`select status from inbox_messages where external_id = $1`, [id]);
    expect(msg.status).toBe('done');
  });

  it('a dead letter tells the user once per conversation, and the dashboard shows it', async () => {
    const user = waUser();
    // A 400 that is not about context length: a rejected request, counted; INBOX_MAX_ATTEMPTS is 1.
    fault({ channel: 'llm', kind: 'chat_completion', status: 400, count: 2 });
    const first = await fromWhatsapp(user, 'uno');
    const [notice] = await until('the notice', () => waSends(user).length > 0 && waSends(user));
    expect(waText(notice)).toMatch(/^Lo siento, no he podido responder a tu último mensaje/);
    const second = await fromWhatsapp(user, 'dos');
    await until('the second dead letter', async () => {
      const r = await q<{ status: string }>(`select status from inbox_messages where external_id = $1`, [second]);
      return r[0]?.status === 'dead';
    });
    await new Promise((r) => setTimeout(r, 500));
    expect(waSends(user)).toHaveLength(1); // rate-limited: one notice for the conversation
    const page = await admin('/admin/dead-letters?limit=50');
    const items = page.body.items as { id: number; userNotified: boolean; text: string }[];
    const ids = await q<{ id: number; external_id: string }>(
      'select id, external_id from inbox_messages where external_id = any($1::text[])',
      [[first, second]],
    );
    const byExt = new Map(ids.map((r) => [r.external_id, Number(r.id)]));
    expect(items.find((x) => x.id === byExt.get(first))).toMatchObject({ userNotified: true, text: 'uno' });
    expect(items.find((x) => x.id === byExt.get(second))).toMatchObject({ userNotified: false, text: 'dos' });
  });

  it('typing lasts: a slow LLM (short refresh in this WADI) gets the WhatsApp indicator again and again', async () => {
    const user = waUser();
    fault({ channel: 'llm', kind: 'chat_completion', delay_ms: 1600 });
    const id = await fromWhatsapp(user, 'piensa despacio');
    await until('the reply', () => waSends(user).length > 0);
    const typings = sandbox()
      .calls('whatsapp')
      .filter((c) => c.kind === 'typing' && (c.body as { message_id?: string }).message_id === id);
    expect(typings.length).toBeGreaterThanOrEqual(3);
    // None after the reply went out.
    const sentSeq = waSends(user)[0].seq;
    await new Promise((r) => setTimeout(r, 700));
    const late = sandbox()
      .calls('whatsapp', sentSeq)
      .filter((c) => c.kind === 'typing' && (c.body as { message_id?: string }).message_id === id);
    expect(late).toEqual([]);
  });

  it('asks for chat-length answers: output cap and system prompt line reach the LLM', async () => {
    const user = waUser();
    const before = llmCalls().length;
    await fromWhatsapp(user, 'hola');
    await until('the answer', () => waSends(user).length > 0);
    const body = llmCalls()[before].body as { max_tokens?: number; messages: { role: string; content: string }[] };
    expect(body.max_tokens).toBe(2000);
    expect(body.messages[0].role).toBe('system');
    expect(body.messages[0].content).toContain('responde con la extensión de un mensaje de chat');
  });
});

/**
 * The issue's own figure, in real time: an LLM that takes 45 s, WhatsApp's indicator re-sent at
 * the default 20 s. One test of ~46 s: the fast test above covers the logic; this one proves the
 * defaults keep the indicator up through a real 45 s wait (t = 0, 20, 40 s).
 */
describe('typing with the default 20 s refresh', () => {
  let slow: TestWadi;
  let slowDb: TestDb;
  beforeAll(async () => {
    slowDb = await testDatabase();
    slow = await startTestWadi(slowDb.database, {
      env: {
        WADI_SANDBOX: 'true',
        WADI_SANDBOX_LLM: 'true',
        COALESCE_DEBOUNCE_MS: '50',
        WORKER_POLL_MS: '50',
        OPENAI_TIMEOUT_MS: '90000',
        OPENAI_MAX_RETRIES: '0',
        INBOX_LEASE_MS: '120000',
        LOG_LEVEL: 'warn',
      },
    });
  }, 60_000);
  afterAll(async () => {
    await slow?.stop();
    await slowDb?.drop();
  });

  it('a 45 s LLM reply shows at least two WhatsApp typing calls', async () => {
    const state = slow.wadi.wiring.sandboxState as SandboxState;
    state.addFault({ channel: 'llm', kind: 'chat_completion', delay_ms: 45_000, count: 1 });
    const from = '34611112222';
    const id = 'wamid.fmt.slow.1';
    expect(await postWhatsapp(slow.url, { from, id, text: '¿me lo piensas bien?' })).toBe(200);
    const sent = () =>
      state.calls('whatsapp').filter((c) => c.kind === 'send_text' && (c.body as { to?: string }).to === from);
    await until('the slow reply', () => sent().length > 0, 80_000);
    const typings = state
      .calls('whatsapp')
      .filter((c) => c.kind === 'typing' && (c.body as { message_id?: string }).message_id === id);
    expect(typings.length).toBeGreaterThanOrEqual(2);
  }, 100_000);
});
