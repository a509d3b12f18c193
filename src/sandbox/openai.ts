/**
 * The sandbox's OpenAI-compatible fake: `POST /sandbox/openai/v1/chat/completions` answers with a
 * deterministic completion and usage; `GET /sandbox/openai/v1/models` lists one model. Faults
 * (`POST /sandbox/faults` with channel `llm`, kind `chat_completion`) make it slow (`delay_ms`),
 * fail (`status`) or answer a chosen `text`. Every call is recorded under channel `llm`. Successful
 * completions take the time of the state's latency model (instant by default; log-normal for the
 * load scenarios and benches, see latency.ts).
 */
import type { FastifyPluginAsync } from 'fastify';
import { drawLatencyMs } from './latency.ts';
import type { SandboxState } from './state.ts';

interface ChatBody {
  model?: string;
  messages?: { role?: string; content?: unknown }[];
}

const tokens = (s: string) => Math.ceil(s.length / 4);

/** The fake's plugin. */
export function openaiFake(state: SandboxState): FastifyPluginAsync {
  return async (app) => {
    app.get('/sandbox/openai/v1/models', async () => ({
      object: 'list',
      data: [{ id: 'sandbox-model', object: 'model', created: 0, owned_by: 'wadi-sandbox' }],
    }));

    app.post('/sandbox/openai/v1/chat/completions', async (req, reply) => {
      const body = (req.body ?? {}) as ChatBody;
      const fault = state.takeFault('llm', 'chat_completion');
      if (fault?.delay_ms) await new Promise((r) => setTimeout(r, fault.delay_ms));
      const path = '/sandbox/openai/v1/chat/completions';
      if (!Array.isArray(body.messages) || body.messages.length === 0) {
        state.record({ channel: 'llm', kind: 'chat_completion', method: 'POST', path, body, status: 400 });
        return reply.code(400).send({ error: { message: 'messages is required', type: 'invalid_request_error' } });
      }
      const status = fault?.status ?? (fault?.code ? 500 : undefined);
      if (status && status >= 400) {
        state.record({ channel: 'llm', kind: 'chat_completion', method: 'POST', path, body, status });
        if (fault?.retry_after) reply.header('retry-after', String(fault.retry_after));
        return reply.code(status).send({
          error: { message: `sandbox fault ${status}`, type: status === 429 ? 'rate_limit_error' : 'server_error' },
        });
      }
      const contents = body.messages.map((m) => (typeof m.content === 'string' ? m.content : ''));
      let lastUser = '';
      for (const m of body.messages) if (m.role === 'user' && typeof m.content === 'string') lastUser = m.content;
      const text = fault?.text ?? `[sandbox] ${lastUser}`;
      const wait = Math.round(drawLatencyMs(state.llmLatency, tokens(text)));
      const n = state.record({
        channel: 'llm',
        kind: 'chat_completion',
        method: 'POST',
        path,
        body,
        status: 200,
        ...(wait > 0 ? { latencyMs: wait } : {}),
      }).seq;
      const promptTokens = contents.reduce((s, c) => s + tokens(c), 0);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      return {
        id: `chatcmpl-sandbox-${n}`,
        object: 'chat.completion',
        created: Math.floor(Date.now() / 1000),
        model: body.model ?? 'sandbox-model',
        choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop', logprobs: null }],
        usage: {
          prompt_tokens: promptTokens,
          completion_tokens: tokens(text),
          total_tokens: promptTokens + tokens(text),
        },
      };
    });
  };
}
