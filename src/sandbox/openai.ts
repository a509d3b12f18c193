/**
 * The sandbox's OpenAI-compatible fake: `POST /sandbox/openai/v1/chat/completions` answers with a
 * deterministic completion and usage; `GET /sandbox/openai/v1/models` lists one model. Faults
 * (`POST /sandbox/faults` with channel `llm`, kind `chat_completion`) make it slow (`delay_ms`),
 * fail (`status`), refuse the prompt as too long in a given server's words (`context_length`:
 * openai, azure, vllm, llamacpp, ollama, lmstudio) or answer a chosen `text`; kind `image_input`
 * makes it refuse requests that carry an image (a model without vision). Every call is recorded
 * under channel `llm`, content parts included.
 *
 * `POST /sandbox/openai/v1/audio/transcriptions` (multipart, like OpenAI's) answers a deterministic
 * transcript: the file's text when the "audio" is UTF-8 text (tests), else a fixed sentence naming
 * its size and digest. Faults: kind `transcription`. Recorded as kind `transcription` with the
 * model, language, file name, type and size.
 *
 * A user text with `tool:NAME {json}` directives scripts tool calls (src/sandbox/README.md). Successful
 * completions take the time of the state's latency model (instant by default; log-normal for the
 * load scenarios and benches, see latency.ts).
 */
import { createHash } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import { drawLatencyMs } from './latency.ts';
import type { ContextLengthFlavor, SandboxState } from './state.ts';

/** Largest audio file the fake transcribes (OpenAI's limit). */
const MAX_AUDIO = 25 * 1024 * 1024;

type Part = { type?: string; text?: unknown; image_url?: { url?: unknown } };

/** The text parts of a message's content (a string, or an array of content parts). */
function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return (content as Part[])
    .filter((p) => p?.type === 'text' && typeof p.text === 'string')
    .map((p) => p.text as string)
    .join('\n');
}

function imageCount(content: unknown): number {
  return Array.isArray(content) ? (content as Part[]).filter((p) => p?.type === 'image_url').length : 0;
}

/** What a transcript of these bytes is, deterministically. */
export function fakeTranscript(bytes: Buffer): string {
  const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  const printable = !/[\u0000-\u0008\u000E-\u001F\uFFFD]/.test(text);
  if (printable && text.trim()) return text.trim();
  const digest = createHash('sha256').update(bytes).digest('hex').slice(0, 8);
  return `Nota de voz de prueba (${bytes.length} bytes, ${digest}).`;
}

interface ChatBody {
  model?: string;
  max_tokens?: number;
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

/** "Context too long" as each server words it (HTTP 400 in all of them). */
export function contextLengthBody(flavor: ContextLengthFlavor, promptTokens: number): unknown {
  const asked = Math.max(promptTokens, 4097);
  switch (flavor) {
    case 'openai':
    case 'azure':
      return {
        error: {
          message: `This model's maximum context length is 4096 tokens. However, your messages resulted in ${asked} tokens. Please reduce the length of the messages.`,
          type: 'invalid_request_error',
          param: 'messages',
          code: 'context_length_exceeded',
          ...(flavor === 'azure' ? { status: 400 } : {}),
        },
      };
    case 'vllm':
      return {
        object: 'error',
        message: `This model's maximum context length is 4096 tokens. However, you requested ${asked + 1024} tokens (${asked} in the messages, 1024 in the completion). Please reduce the length of the messages or completion.`,
        type: 'BadRequestError',
        param: null,
        code: 400,
      };
    case 'llamacpp':
      return {
        error: {
          code: 400,
          message: 'the request exceeds the available context size, try increasing it',
          type: 'exceed_context_size_error',
          n_prompt_tokens: asked,
          n_ctx: 4096,
        },
      };
    case 'ollama':
      return {
        error: {
          message: 'the input length exceeds the context length',
          type: 'invalid_request_error',
          param: null,
          code: null,
        },
      };
    case 'lmstudio':
      return {
        error: `Trying to keep the first ${asked} tokens when context the overflows. However, the model is loaded with context length of only 4096 tokens, which is not enough. Try to load the model with a larger context length, or provide a shorter input`,
      };
  }
}

/** The fake's plugin. */
export function openaiFake(state: SandboxState): FastifyPluginAsync {
  return async (app) => {
    app.get('/sandbox/openai/v1/models', async () => ({
      object: 'list',
      data: [{ id: 'sandbox-model', object: 'model', created: 0, owned_by: 'wadi-sandbox' }],
    }));

    await app.register(async (scope) => {
      // Multipart bodies are parsed by the platform's own FormData (undici), not by hand.
      scope.addContentTypeParser(
        'multipart/form-data',
        { parseAs: 'buffer', bodyLimit: MAX_AUDIO + 1024 * 1024 },
        (_r, b, done) => done(null, b),
      );
      scope.post('/sandbox/openai/v1/audio/transcriptions', async (req, reply) => {
        const path = '/sandbox/openai/v1/audio/transcriptions';
        const ct = String(req.headers['content-type'] ?? '');
        const bad = (message: string, recorded: unknown = null) => {
          state.record({ channel: 'llm', kind: 'transcription', method: 'POST', path, body: recorded, status: 400 });
          return reply.code(400).send({ error: { message, type: 'invalid_request_error' } });
        };
        if (!ct.startsWith('multipart/form-data') || !Buffer.isBuffer(req.body))
          return bad('multipart/form-data required');
        let form: FormData;
        try {
          form = await new Request('http://sandbox/', {
            method: 'POST',
            headers: { 'content-type': ct },
            body: new Uint8Array(req.body),
          }).formData();
        } catch {
          return bad('could not parse multipart form');
        }
        const file = form.get('file');
        const model = form.get('model');
        const language = form.get('language');
        const format = String(form.get('response_format') ?? 'json');
        if (!(file instanceof Blob) || file.size === 0) return bad('file is required');
        if (typeof model !== 'string' || !model) return bad('model is required');
        const bytes = Buffer.from(await file.arrayBuffer());
        const recorded = {
          model,
          language: typeof language === 'string' ? language : undefined,
          filename: (file as File).name,
          type: file.type,
          size: bytes.length,
        };
        const fault = state.takeFault('llm', 'transcription');
        if (fault?.delay_ms) await new Promise((r) => setTimeout(r, fault.delay_ms));
        const status = fault?.status ?? (fault?.code ? 500 : undefined);
        if (status && status >= 400) {
          state.record({ channel: 'llm', kind: 'transcription', method: 'POST', path, body: recorded, status });
          if (fault?.retry_after) reply.header('retry-after', String(fault.retry_after));
          return reply.code(status).send({ error: { message: `sandbox fault ${status}`, type: 'server_error' } });
        }
        const text = fault?.text ?? fakeTranscript(bytes);
        state.record({ channel: 'llm', kind: 'transcription', method: 'POST', path, body: recorded, status: 200 });
        if (format === 'text') return reply.type('text/plain').send(text);
        return { text, usage: { type: 'duration', seconds: Math.max(1, Math.round(bytes.length / 4000)) } };
      });
    });

    app.post('/sandbox/openai/v1/chat/completions', async (req, reply) => {
      const body = (req.body ?? {}) as ChatBody;
      const fault = state.takeFault('llm', 'chat_completion');
      if (fault?.delay_ms) await new Promise((r) => setTimeout(r, fault.delay_ms));
      const path = '/sandbox/openai/v1/chat/completions';
      if (!Array.isArray(body.messages) || body.messages.length === 0) {
        state.record({ channel: 'llm', kind: 'chat_completion', method: 'POST', path, body, status: 400 });
        return reply.code(400).send({ error: { message: 'messages is required', type: 'invalid_request_error' } });
      }
      if (fault?.context_length) {
        state.record({ channel: 'llm', kind: 'chat_completion', method: 'POST', path, body, status: 400 });
        const prompt = body.messages.reduce((n, m) => n + tokens(typeof m.content === 'string' ? m.content : ''), 0);
        return reply.code(400).send(contextLengthBody(fault.context_length, prompt));
      }
      const status = fault?.status ?? (fault?.code ? 500 : undefined);
      if (status && status >= 400) {
        state.record({ channel: 'llm', kind: 'chat_completion', method: 'POST', path, body, status });
        if (fault?.retry_after) reply.header('retry-after', String(fault.retry_after));
        return reply.code(status).send({
          error: { message: `sandbox fault ${status}`, type: status === 429 ? 'rate_limit_error' : 'server_error' },
        });
      }
      const images = body.messages.reduce((n, m) => n + imageCount(m.content), 0);
      if (images > 0 && state.takeFault('llm', 'image_input')) {
        state.record({ channel: 'llm', kind: 'chat_completion', method: 'POST', path, body, status: 400 });
        return reply.code(400).send({
          error: {
            message: 'Invalid content type. image_url is only supported by certain models.',
            type: 'invalid_request_error',
            param: 'messages',
            code: null,
          },
        });
      }
      const contents = body.messages.map((m) => textOf(m.content));
      let lastUser = '';
      for (const m of body.messages) if (m.role === 'user') lastUser = textOf(m.content);
      if (images > 0) lastUser = `${lastUser} [${images} image${images > 1 ? 's' : ''}]`.trim();
      // Drawn before the answer is known: the tokens/s part counts the echo answer's tokens.
      const wait = Math.round(drawLatencyMs(state.llmLatency, tokens(fault?.text ?? `[sandbox] ${lastUser}`)));
      const n = state.record({
        channel: 'llm',
        kind: 'chat_completion',
        method: 'POST',
        path,
        body,
        status: 200,
        ...(wait > 0 ? { latencyMs: wait } : {}),
      }).seq;
      const promptTokens = contents.reduce((s, c) => s + tokens(c), 0) + images * 85;
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
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
      let text = fault?.text ?? script.text ?? `[sandbox] ${lastUser}`;
      // Like a real server, stop at max_tokens and say so in finish_reason.
      const cap = typeof body.max_tokens === 'number' && body.max_tokens > 0 ? body.max_tokens : undefined;
      const truncated = cap !== undefined && tokens(text) > cap;
      if (truncated) text = text.slice(0, cap * 4);
      return {
        id: `chatcmpl-sandbox-${n}`,
        object: 'chat.completion',
        created: Math.floor(Date.now() / 1000),
        model: body.model ?? 'sandbox-model',
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content: text },
            finish_reason: truncated ? 'length' : 'stop',
            logprobs: null,
          },
        ],
        usage: {
          prompt_tokens: promptTokens,
          completion_tokens: tokens(text),
          total_tokens: promptTokens + tokens(text),
        },
      };
    });
  };
}
