import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openaiFake } from '../sandbox/openai.ts';
import { CONTEXT_LENGTH_FLAVORS, SandboxState } from '../sandbox/state.ts';
import { AssistantContextTooLongError, AssistantRejectedError } from './assistant.ts';
import { OpenAiAssistant } from './openai.ts';

describe('OpenAI-compatible adapter against the fake over HTTP', () => {
  let app: FastifyInstance;
  let url: string;
  const state = new SandboxState();
  beforeAll(async () => {
    app = Fastify();
    await app.register(openaiFake(state));
    url = await app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => app?.close());
  beforeEach(() => state.reset());

  const assistant = (maxOutputTokens?: number) =>
    new OpenAiAssistant({
      apiKey: 'test',
      baseUrl: () => `${url}/sandbox/openai/v1`,
      model: 'm',
      timeoutMs: 5000,
      maxRetries: 0,
      systemPrompt: () => 'persona\n\nchat-length line',
      maxOutputTokens,
    });
  const ask = (a: OpenAiAssistant, content = 'hola') =>
    a.reply({ messages: [{ role: 'user', content }], locale: 'es' });

  for (const flavor of CONTEXT_LENGTH_FLAVORS) {
    it(`recognises ${flavor}'s "context too long" 400 as its own error`, async () => {
      state.addFault({ channel: 'llm', kind: 'chat_completion', context_length: flavor, count: 1 });
      const err = await ask(assistant()).catch((e) => e);
      expect(err).toBeInstanceOf(AssistantContextTooLongError);
      expect(err.code).toBe('ASSISTANT_CONTEXT_TOO_LONG');
    });
  }

  it('keeps other 400s as plain rejections', async () => {
    state.addFault({ channel: 'llm', kind: 'chat_completion', status: 400, count: 1 });
    const err = await ask(assistant()).catch((e) => e);
    expect(err).toBeInstanceOf(AssistantRejectedError);
    expect(err).not.toBeInstanceOf(AssistantContextTooLongError);
  });

  it('sends the output cap and the system prompt, and marks an answer the cap cut short', async () => {
    const r = await ask(assistant(5), 'una pregunta que pide una respuesta larguísima');
    const body = state.calls('llm')[0].body as { max_tokens?: number; messages: { role: string; content: string }[] };
    expect(body.max_tokens).toBe(5);
    expect(body.messages[0]).toEqual({ role: 'system', content: 'persona\n\nchat-length line' });
    expect(r.text).toBe('[sandbox] una pregun […]');
    await ask(assistant(0));
    expect((state.calls('llm')[1].body as { max_tokens?: number }).max_tokens).toBeUndefined();
  });
});
