/**
 * The sandbox's OpenAI-compatible fake: `POST /sandbox/openai/v1/chat/completions` answers with a
 * deterministic completion and usage; `GET /sandbox/openai/v1/models` lists one model. Faults
 * (`POST /sandbox/faults` with channel `llm`, kind `chat_completion`) make it slow (`delay_ms`),
 * fail (`status`) or answer a chosen `text`. Every call is recorded under channel `llm`. A user text
 * with `tool:NAME {json}` directives scripts tool calls (src/sandbox/README.md).
 */
import type { FastifyPluginAsync } from 'fastify';
import type { SandboxState } from './state.ts';

interface ChatBody {
  model?: string;
  messages?: ChatMessage[];
  tools?: { type?: string; function?: { name?: string } }[];
  tool_choice?: unknown;
}

interface ChatMessage {
  role?: string;
  content?: unknown;
  tool_calls?: { id?: string; function?: { name?: string; arguments?: string } }[];
  tool_call_id?: string;
}

/** A scripted tool call in a user's text: `tool:NAME {json arguments}` (see src/sandbox/README.md). */
export interface ToolDirective {
  readonly name: string;
  readonly arguments: Record<string, unknown>;
}

/** The `tool:NAME {json}` directives of a text, in order (arguments default to {}). */
export function toolDirectives(text: string): ToolDirective[] {
  const out: ToolDirective[] = [];
  const re = /tool:([A-Za-z0-9_-]{1,64})/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    let args: Record<string, unknown> = {};
    let i = m.index + m[0].length;
    while (text[i] === ' ') i++;
    if (text[i] === '{') {
      // The shortest balanced-looking prefix that parses as a JSON object.
      for (let end = text.indexOf('}', i); end !== -1; end = text.indexOf('}', end + 1)) {
        try {
          const v = JSON.parse(text.slice(i, end + 1));
          if (v && typeof v === 'object' && !Array.isArray(v)) {
            args = v as Record<string, unknown>;
            re.lastIndex = end + 1;
            break;
          }
        } catch {
          // not yet a whole object: extend to the next brace
        }
      }
    }
    out.push({ name: m[1], arguments: args });
  }
  return out;
}

/** What the scripted model does next: call the next directive's tool, or answer from the results. */
function scripted(
  body: ChatBody,
  seq: number,
): { call?: { id: string; name: string; arguments: string }; text?: string } {
  const messages = body.messages ?? [];
  let lastUser = -1;
  messages.forEach((m, i) => {
    if (m.role === 'user') lastUser = i;
  });
  if (lastUser < 0 || typeof messages[lastUser].content !== 'string') return {};
  const directives = toolDirectives(messages[lastUser].content as string);
  if (directives.length === 0) return {};
  const after = messages.slice(lastUser + 1);
  const done = after.filter((m) => m.role === 'assistant' && (m.tool_calls?.length ?? 0) > 0).length;
  const offered = new Set((body.tools ?? []).map((t) => t.function?.name));
  const next = directives[done];
  if (next && body.tool_choice !== 'none') {
    if (offered.has(next.name)) {
      return {
        call: { id: `call_sandbox_${seq}_${done}`, name: next.name, arguments: JSON.stringify(next.arguments) },
      };
    }
    if (done === 0) return { text: `[sandbox] the tool ${next.name} is not available` };
  }
  const names = new Map<string, string>();
  for (const m of after) for (const c of m.tool_calls ?? []) if (c.id) names.set(c.id, c.function?.name ?? '?');
  const results = after
    .filter((m) => m.role === 'tool')
    .map((m) => `${names.get(m.tool_call_id ?? '') ?? '?'}: ${typeof m.content === 'string' ? m.content : ''}`);
  return results.length > 0 ? { text: `[sandbox] ${results.join('\n')}` } : {};
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
      const n = state.record({ channel: 'llm', kind: 'chat_completion', method: 'POST', path, body, status: 200 }).seq;
      const promptTokens = contents.reduce((s, c) => s + tokens(c), 0);
      const script = scripted(body, n);
      if (script.call) {
        return {
          id: `chatcmpl-sandbox-${n}`,
          object: 'chat.completion',
          created: Math.floor(Date.now() / 1000),
          model: body.model ?? 'sandbox-model',
          choices: [
            {
              index: 0,
              message: {
                role: 'assistant',
                content: null,
                tool_calls: [
                  {
                    id: script.call.id,
                    type: 'function',
                    function: { name: script.call.name, arguments: script.call.arguments },
                  },
                ],
              },
              finish_reason: 'tool_calls',
              logprobs: null,
            },
          ],
          usage: { prompt_tokens: promptTokens, completion_tokens: 10, total_tokens: promptTokens + 10 },
        };
      }
      const text = fault?.text ?? script.text ?? `[sandbox] ${lastUser}`;
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
