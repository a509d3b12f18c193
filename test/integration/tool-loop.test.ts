/**
 * The tool loop end to end below the turn: the real OpenAI adapter against the sandbox's fake
 * model over HTTP (scripted tool calls), a real MCP server over streamable HTTP, search_knowledge
 * over a synced folder, and the journal in PostgreSQL / PGlite. A "crash" is a second run of the
 * same turn from the journal, as a retried turn does.
 */
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import pino from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { OpenAiAssistant } from '../../src/assistant/openai.ts';
import { handoffTool } from '../../src/assistant-tools/handoff.ts';
import { loadJournal, recordStart } from '../../src/assistant-tools/journal.ts';
import { runToolLoop, type ToolLoopOptions } from '../../src/assistant-tools/loop.ts';
import { McpConnection } from '../../src/assistant-tools/mcp-connection.ts';
import { searchKnowledgeTool } from '../../src/assistant-tools/search-knowledge.ts';
import { Toolbox } from '../../src/assistant-tools/toolbox.ts';
import { syncKnowledge } from '../../src/knowledge/sync.ts';
import { openaiFake } from '../../src/sandbox/openai.ts';
import { SandboxState } from '../../src/sandbox/state.ts';
import { tempDir } from '../helpers/cli.ts';
import { backends, type TestDb, testDatabase } from '../helpers/db.ts';
import { writeSampleKnowledge } from '../helpers/documents.ts';
import { type McpHttpTestServer, startMcpHttpServer } from '../helpers/mcp-server.ts';

const logger = pino({ level: 'silent' });

describe.each(backends())('tool loop on %s', (backend) => {
  let t: TestDb;
  let fake: FastifyInstance;
  let sandbox: SandboxState;
  let mcp: McpHttpTestServer;
  let toolbox: Toolbox;
  let model: OpenAiAssistant;
  let conversationId: number;
  let inboxId: number;

  beforeAll(async () => {
    t = await testDatabase(backend);
    sandbox = new SandboxState();
    fake = Fastify();
    await fake.register(openaiFake(sandbox));
    await fake.listen({ port: 0, host: '127.0.0.1' });
    const base = `http://127.0.0.1:${(fake.server.address() as AddressInfo).port}/sandbox/openai/v1`;
    model = new OpenAiAssistant({
      apiKey: 'k',
      baseUrl: () => base,
      model: 'm',
      timeoutMs: 5000,
      maxRetries: 0,
      systemPrompt: () => 'sys',
    });
    mcp = await startMcpHttpServer();
    const dir = tempDir('wadi-loop-knowledge-');
    await writeSampleKnowledge(dir);
    await syncKnowledge({ database: t.database, dir, language: 'spanish', maxFileBytes: 1e6, trigger: 'test' });
    const shop = new McpConnection({
      server: { transport: 'http', name: 'shop', url: mcp.url, headers: {}, timeoutMs: 400 },
      logger,
      callTimeoutMs: 5000,
      version: 't',
    });
    toolbox = new Toolbox({ builtins: [searchKnowledgeTool(t.database, 'spanish')], connections: [shop], logger });
    await toolbox.start();
    // PGlite starts slowly on a busy machine.
  }, 180_000);
  afterAll(async () => {
    await toolbox?.stop(2000);
    await mcp?.close();
    await fake?.close();
    await t?.drop();
  });
  beforeEach(async () => {
    const { rows: c } = await t.database.query<{ id: number }>(
      `insert into conversations (channel, chat_id, lease_owner, lease_until) values ('whatsapp', $1, 'lease-1', now() + interval '1 minute') returning id`,
      [`chat-${Math.random()}`],
    );
    conversationId = Number(c[0].id);
    const { rows: m } = await t.database.query<{ id: number }>(
      `insert into inbox_messages (channel, external_id, chat_id, kind, event, conversation_id) values ('whatsapp', $1, 'x', 'text', '{}', $2) returning id`,
      [`wamid.${Math.random()}`, conversationId],
    );
    inboxId = Number(m[0].id);
  });

  const options = (over: Partial<ToolLoopOptions> = {}): ToolLoopOptions => ({
    db: t.database,
    toolbox,
    turn: { inboxId, conversationId, leaseToken: 'lease-1' },
    maxSteps: 4,
    logger,
    model: async (req) => {
      const r = await model.reply({
        messages: req.messages,
        tools: req.tools,
        mustAnswer: req.mustAnswer,
        locale: 'es',
      });
      return { text: r.text, toolCalls: r.toolCalls ?? [] };
    },
    ...over,
  });
  const ask = (text: string, over: Partial<ToolLoopOptions> = {}) =>
    runToolLoop(options(over), [{ role: 'user', content: text }]);

  it('answers a question only a PDF answers through search_knowledge, and journals the call', async () => {
    const r = await ask('¿Abren el domingo? tool:search_knowledge {"query":"domingo"}');
    expect(r.text).toContain('Los domingos abrimos de 10:00 a 14:00');
    expect(r.text).toContain('horario.pdf');
    const journal = await loadJournal(t.database, inboxId);
    expect(journal).toMatchObject([
      { step: 1, round: 1, tool: 'search_knowledge', arguments: { query: 'domingo' }, outcome: 'ok' },
    ]);
  });

  it('a retried turn replays recorded results instead of calling again', async () => {
    const text = 'tool:shop__book_table {"name":"Ana","people":2} tool:shop__get_order {"orderId":"A1"}';
    const before = mcp.state.invocations.length;
    const first = await ask(text);
    expect(mcp.state.invocations.length - before).toBe(2);
    const again = await ask(text);
    expect(again.text).toBe(first.text);
    expect(again).toMatchObject({ called: 0, replayed: 2 });
    expect(mcp.state.invocations.length - before).toBe(2);
    expect(mcp.state.invocations.at(-2)?.idempotencyKey).toBe(`wadi-${inboxId}-1`);
  });

  it('a call recorded as started without a result is made again with the same idempotency key: one booking', async () => {
    const text = 'tool:shop__book_table {"name":"Luis","people":4}';
    // The crash came after the call reached the server and before its result was recorded.
    await recordStart(
      t.database,
      { inboxId, conversationId, leaseToken: 'lease-1' },
      { step: 1, round: 1, callId: 'call_x', tool: 'shop__book_table', arguments: { name: 'Luis', people: 4 } },
    );
    const booked = mcp.state.sideEffects;
    // The first attempt's call reached the server:
    await toolbox.call('shop__book_table', { name: 'Luis', people: 4 }, { idempotencyKey: `wadi-${inboxId}-1` });
    const r = await ask(text);
    expect(r).toMatchObject({ called: 1, replayed: 0 });
    expect(r.text).toContain('"booked":true');
    expect(mcp.state.sideEffects - booked).toBe(1);
    expect((await loadJournal(t.database, inboxId))[0]).toMatchObject({ outcome: 'ok' });
  });

  it('errors and timeouts go back to the model as results', async () => {
    const r = await ask('tool:shop__fail tool:shop__slow {"ms":3000}');
    expect(r.text).toContain('shop__fail: the booking system is closed for maintenance');
    expect(r.text).toMatch(/shop__slow: \{"error":"the tool did not answer within 0.4 s"\}/);
    expect((await loadJournal(t.database, inboxId)).map((e) => e.outcome)).toEqual(['error', 'timeout']);
  });

  it('a made-up tool name or arguments that are not an object are answered as errors, not called', async () => {
    // A model that invents a tool and writes broken arguments once, then behaves (the fake only calls offered tools).
    let first = true;
    const real = options().model;
    // The stub answers the first directive's round; the fake model then calls the second.
    const r = await ask('tool:shop__get_order {} tool:shop__get_order {"orderId":"A2"}', {
      model: async (req) => {
        if (!first) return real(req);
        first = false;
        return {
          text: null,
          toolCalls: [
            { id: 'c1', name: 'nope__x', arguments: '{}' },
            { id: 'c2', name: 'shop__get_order', arguments: '[1,2' },
          ],
        };
      },
    });
    const journal = await loadJournal(t.database, inboxId);
    expect(journal.map((e) => [e.tool, e.outcome, e.result])).toEqual([
      ['nope__x', 'error', JSON.stringify({ error: 'there is no tool named nope__x' })],
      ['shop__get_order', 'error', JSON.stringify({ error: 'arguments must be a JSON object' })],
      ['shop__get_order', 'ok', expect.stringContaining('being prepared')],
    ]);
    expect(r.text).toContain('being prepared');
  });

  it('stops calling at the step cap and makes the model answer', async () => {
    const r = await ask('tool:shop__get_order {"orderId":"A1"} '.repeat(6), { maxSteps: 2 });
    expect((await loadJournal(t.database, inboxId)).length).toBe(2);
    expect(r.text.split('\n')).toHaveLength(2);
  });

  it('a turn that lost its lease calls nothing', async () => {
    await t.database.query(`update conversations set lease_owner = 'someone-else' where id = $1`, [conversationId]);
    const before = mcp.state.invocations.length;
    await expect(ask('tool:shop__book_table {"name":"Eve","people":1}')).rejects.toThrow(/lease lost/);
    expect(mcp.state.invocations.length).toBe(before);
  });

  it('stores hostile arguments (NUL, lone surrogates, deep nesting) without failing the turn', async () => {
    let deep = '{"q":"x"}';
    for (let i = 0; i < 60; i++) deep = `{"a":${deep}}`;
    const r = await ask(`tool:search_knowledge {"query":"dom\\u0000ingo \\ud800 🎉", "n": ${deep}}`);
    expect(r.text).toContain('search_knowledge:');
    const [e] = await loadJournal(t.database, inboxId);
    expect(JSON.stringify(e.arguments)).not.toContain('\\u0000');
  });

  it('a handoff call ends the loop without asking the model again; a retried turn replays it', async () => {
    const withHandoff = new Toolbox({
      builtins: [searchKnowledgeTool(t.database, 'spanish'), handoffTool()],
      connections: [],
      logger,
    });
    let asked = 0;
    const real = options().model;
    const counting: ToolLoopOptions['model'] = (req) => {
      asked += 1;
      return real(req);
    };
    const text = 'tool:search_knowledge {"query":"domingo"} tool:handoff {"reason":"  wants\\na refund  "}';
    const first = await ask(text, { toolbox: withHandoff, model: counting });
    expect(first).toEqual({ text: '', called: 2, replayed: 0, handoff: { reason: 'wants a refund' } });
    // Round 1 (search), round 2 (handoff), and nothing after it.
    expect(asked).toBe(2);
    const again = await ask(text, { toolbox: withHandoff, model: counting });
    expect(again).toEqual({ text: '', called: 0, replayed: 2, handoff: { reason: 'wants a refund' } });
    expect(asked).toBe(2);
    expect((await loadJournal(t.database, inboxId)).map((e) => [e.tool, e.outcome])).toEqual([
      ['search_knowledge', 'ok'],
      ['handoff', 'ok'],
    ]);
  });

  it('a model that calls handoff when it is not offered gets an error result and must answer', async () => {
    let first = true;
    const real = options().model;
    const r = await ask('hola', {
      model: async (req) => {
        if (!first) return real(req);
        first = false;
        return { text: null, toolCalls: [{ id: 'h1', name: 'handoff', arguments: '{}' }] };
      },
    });
    expect(r.handoff).toBeUndefined();
    expect((await loadJournal(t.database, inboxId)).map((e) => [e.tool, e.outcome])).toEqual([['handoff', 'error']]);
  });
});
