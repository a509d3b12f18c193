/**
 * The built-in `handoff` tool through a whole sandbox WADI on PostgreSQL: the fake model calls it
 * (src/sandbox/README.md scripting), the conversation becomes needs-human exactly as with `/human`
 * (the user is told in Spanish, on-call is told once with a link and the model's reason, the bot
 * stops answering), and the call is in the tool journal. ASSISTANT_HANDOFF_TOOL=true offers it with
 * no knowledge and no MCP servers configured.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SandboxState } from '../../src/sandbox/state.ts';
import { type TestDb, testDatabase } from '../helpers/db.ts';
import { type Receiver, telegramReceiver } from '../helpers/receivers.ts';
import { sandboxChat } from '../helpers/sandbox-chat.ts';
import { startTestWadi, type TestWadi } from '../helpers/wadi.ts';

let t: TestDb;
let w: TestWadi;
let oncall: Receiver;
const chat = sandboxChat(() => w.url);
const sandbox = () => w.wadi.wiring.sandboxState as SandboxState;
const completions = () =>
  sandbox()
    .calls('llm')
    .filter((c) => c.kind === 'chat_completion');

interface SessionBody {
  session: { id: number; state: string; unanswered: number };
  messages: { direction: string; kind: string; author: string; text: string | null; status: string }[];
}

beforeAll(async () => {
  t = await testDatabase();
  oncall = await telegramReceiver();
  w = await startTestWadi(t.database, {
    env: {
      WADI_SANDBOX: 'true',
      WADI_SANDBOX_LLM: 'true',
      ASSISTANT_HANDOFF_TOOL: 'true',
      ALERT_TELEGRAM_CHAT_ID: '-100888',
      ALERT_TELEGRAM_BOT_TOKEN: '123456:oncall-bot-token-for-tests',
      TELEGRAM_API_URL: oncall.url,
      COALESCE_DEBOUNCE_MS: '0',
      WORKER_POLL_MS: '50',
    },
  });
}, 60_000);
afterAll(async () => {
  await w?.stop();
  await oncall?.close();
  await t?.drop();
});

describe('the handoff tool', () => {
  it('the model hands the conversation to a person: needs human, the user told once, on-call told once, bot silent', async () => {
    const user = '34633000001';
    const before = completions().length;
    await chat.userSays(
      user,
      'Esto es un desastre, quiero mi dinero tool:handoff {"reason":"angry customer wants a refund for order A3"}',
    );
    await chat.untilCall(
      (c) => c.body?.to === user && /te paso con una persona/.test(c.body?.text?.body ?? ''),
      'the handoff notice',
    );
    const id = await chat.conversationId(user);
    const s = (await chat.admin<SessionBody>('GET', `/sessions/${id}/messages`)).json;
    expect(s.session.state).toBe('needs_human');
    // The model was asked once: the tool call ended the turn, nothing was asked after it.
    expect(completions().length - before).toBe(1);
    const offered =
      (completions().at(-1)?.body as { tools?: { function: { name: string } }[] } | undefined)?.tools ?? [];
    expect(offered.map((x) => x.function.name)).toEqual(['handoff']);

    const journal = await t.database.query<{ tool: string; outcome: string; arguments: { reason: string } }>(
      'select tool, outcome, arguments from tool_calls where conversation_id = $1',
      [id],
    );
    expect(journal.rows).toEqual([
      { tool: 'handoff', outcome: 'ok', arguments: { reason: 'angry customer wants a refund for order A3' } },
    ]);
    const conv = await t.database.query<{ handoff_trigger: string }>(
      'select handoff_trigger from conversations where id = $1',
      [id],
    );
    expect(conv.rows[0].handoff_trigger).toBe('tool');

    await expect.poll(() => oncall.received.length, { timeout: 20_000 }).toBe(1);
    expect(oncall.received[0].body.chat_id).toBe('-100888');
    expect(oncall.received[0].text).toContain(`${w.url}/admin/ui/conversations/${id}`);
    expect(oncall.received[0].text).toContain('was handed over by the assistant');
    expect(oncall.received[0].text).toContain("The assistant's reason: angry customer wants a refund for order A3");
    const metrics = await (await fetch(`${w.url}/metrics`)).text();
    expect(metrics).toMatch(/wadi_handoffs_total\{channel="whatsapp",trigger="tool"\} 1/);
    expect(metrics).toMatch(/wadi_tool_calls_total\{tool="handoff",outcome="ok"\} 1/);

    // The bot is silent now: the next message is kept for the person, not answered, not asked.
    const asked = completions().length;
    await chat.userSays(user, '¿Hola? ¿Hay alguien?');
    await expect
      .poll(async () => (await chat.admin<SessionBody>('GET', `/sessions/${id}/messages`)).json.session.unanswered, {
        timeout: 20_000,
      })
      .toBe(1);
    const toUser = (await chat.graphCalls()).filter((c) => c.body?.to === user && c.kind === 'send_text');
    expect(toUser).toHaveLength(1);
    expect(completions().length).toBe(asked);
    // The user's words are in the history for the person (and the assistant, later).
    const history = await t.database.query<{ role: string; content: string }>(
      'select role, content from history where conversation_id = $1 order by id',
      [id],
    );
    expect(history.rows.map((r) => r.role)).toEqual(['user', 'user']);
    expect(history.rows[0].content).toContain('quiero mi dinero');
    expect(oncall.received).toHaveLength(1);
  }, 60_000);

  it('a plain question is still answered with the tool on offer (the model chose not to call it)', async () => {
    const user = '34633000002';
    await chat.userSays(user, 'Hola, ¿qué tal?');
    const reply = await chat.untilCall((c) => c.body?.to === user && c.kind === 'send_text', 'an answer');
    expect(reply.body.text?.body).not.toMatch(/te paso con una persona/);
    const id = await chat.conversationId(user);
    expect((await chat.admin<SessionBody>('GET', `/sessions/${id}/messages`)).json.session.state).toBe('active');
  }, 60_000);
});
