import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { openaiFake, toolDirectives } from './openai.ts';
import { SandboxState } from './state.ts';

describe('sandbox OpenAI-compatible fake', () => {
  it('answers deterministically with usage, records calls, and obeys faults', async () => {
    const state = new SandboxState();
    const app = Fastify();
    await app.register(openaiFake(state));
    const body = {
      model: 'm',
      messages: [
        { role: 'system', content: 'sys' },
        { role: 'user', content: 'hola' },
      ],
    };
    const ok = await app.inject({ method: 'POST', url: '/sandbox/openai/v1/chat/completions', payload: body });
    expect(ok.statusCode).toBe(200);
    const j = ok.json() as { choices: { message: { content: string } }[]; usage: { prompt_tokens: number } };
    expect(j.choices[0].message.content).toBe('[sandbox] hola');
    expect(j.usage.prompt_tokens).toBeGreaterThan(0);
    expect(state.calls('llm')).toHaveLength(1);

    state.addFault({ channel: 'llm', kind: 'chat_completion', status: 503, count: 1 });
    const down = await app.inject({ method: 'POST', url: '/sandbox/openai/v1/chat/completions', payload: body });
    expect(down.statusCode).toBe(503);
    state.addFault({ channel: 'llm', text: 'respuesta fija', count: 1 });
    const fixed = await app.inject({ method: 'POST', url: '/sandbox/openai/v1/chat/completions', payload: body });
    expect((fixed.json() as { choices: { message: { content: string } }[] }).choices[0].message.content).toBe(
      'respuesta fija',
    );
    const bad = await app.inject({ method: 'POST', url: '/sandbox/openai/v1/chat/completions', payload: {} });
    expect(bad.statusCode).toBe(400);
    expect(state.calls('llm').map((c) => c.status)).toEqual([200, 503, 200, 400]);
    await app.close();
  });

  it("answers a scripted context-length 400 in each server's words, then normally", async () => {
    const state = new SandboxState();
    const app = Fastify();
    await app.register(openaiFake(state));
    const payload = { model: 'm', messages: [{ role: 'user', content: 'hola' }] };
    state.addFault({ channel: 'llm', kind: 'chat_completion', context_length: 'openai', count: 2 });
    for (let i = 0; i < 2; i++) {
      const r = await app.inject({ method: 'POST', url: '/sandbox/openai/v1/chat/completions', payload });
      expect(r.statusCode).toBe(400);
      expect(r.json()).toMatchObject({ error: { code: 'context_length_exceeded', type: 'invalid_request_error' } });
    }
    const ok = await app.inject({ method: 'POST', url: '/sandbox/openai/v1/chat/completions', payload });
    expect(ok.statusCode).toBe(200);
    state.addFault({ channel: 'llm', context_length: 'llamacpp', count: 1 });
    const llama = await app.inject({ method: 'POST', url: '/sandbox/openai/v1/chat/completions', payload });
    expect(llama.json()).toMatchObject({ error: { type: 'exceed_context_size_error' } });
    await app.close();
  });

  it('scripts tool calls from tool:NAME {json} directives, one per round, then answers from the results', async () => {
    const app = Fastify();
    await app.register(openaiFake(new SandboxState()));
    const tools = [
      { type: 'function', function: { name: 'shop__get_order' } },
      { type: 'function', function: { name: 'search_knowledge' } },
    ];
    const post = async (messages: unknown[], extra: Record<string, unknown> = {}) =>
      (
        await app.inject({
          method: 'POST',
          url: '/sandbox/openai/v1/chat/completions',
          payload: { messages, tools, ...extra },
        })
      ).json() as {
        choices: {
          finish_reason: string;
          message: {
            content: string | null;
            tool_calls?: { id: string; function: { name: string; arguments: string } }[];
          };
        }[];
      };
    const user = {
      role: 'user',
      content: '¿Dónde está? tool:shop__get_order {"orderId":"A1"} tool:search_knowledge {"query":"envíos {rápidos}"}',
    };
    const r1 = await post([user]);
    expect(r1.choices[0].finish_reason).toBe('tool_calls');
    const c1 = r1.choices[0].message.tool_calls?.[0];
    expect(c1?.function).toEqual({ name: 'shop__get_order', arguments: '{"orderId":"A1"}' });
    const after1 = [
      user,
      { role: 'assistant', content: null, tool_calls: [{ id: c1?.id, type: 'function', function: c1?.function }] },
      { role: 'tool', tool_call_id: c1?.id, content: '{"status":"shipped"}' },
    ];
    const r2 = await post(after1);
    const c2 = r2.choices[0].message.tool_calls?.[0];
    expect(c2?.function).toEqual({ name: 'search_knowledge', arguments: '{"query":"envíos {rápidos}"}' });
    const after2 = [
      ...after1,
      { role: 'assistant', content: null, tool_calls: [{ id: c2?.id, type: 'function', function: c2?.function }] },
      { role: 'tool', tool_call_id: c2?.id, content: 'nada' },
    ];
    const r3 = await post(after2);
    expect(r3.choices[0].message.content).toBe(
      '[sandbox] shop__get_order: {"status":"shipped"}\nsearch_knowledge: nada',
    );
    // tool_choice none: answer from what is there instead of calling.
    expect((await post(after1, { tool_choice: 'none' })).choices[0].message.content).toBe(
      '[sandbox] shop__get_order: {"status":"shipped"}',
    );
    // A tool that is not offered is said so.
    expect((await post([{ role: 'user', content: 'tool:other__x {}' }])).choices[0].message.content).toBe(
      '[sandbox] the tool other__x is not available',
    );
    await app.close();
  });

  it('parses directives with nested JSON, no arguments, and broken JSON', () => {
    expect(toolDirectives('tool:a {"x":{"y":[1,{"z":2}]}} and tool:b then tool:c {broken')).toEqual([
      { name: 'a', arguments: { x: { y: [1, { z: 2 }] } } },
      { name: 'b', arguments: {} },
      { name: 'c', arguments: {} },
    ]);
    expect(toolDirectives('nothing here')).toEqual([]);
  });
});
