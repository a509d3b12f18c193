import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { openaiFake } from './openai.ts';
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
});
