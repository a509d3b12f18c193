/**
 * The one place an OpenAI SDK client is built (chat completions in openai.ts, transcriptions in
 * media/transcribe.ts): the API key, the base URL resolved at first use (the sandbox fake's port is
 * known only once WADI listens), a request timeout and bounded retries.
 */
import OpenAI from 'openai';

/** What every OpenAI-compatible client of WADI is configured with. */
export interface OpenAiClientOptions {
  readonly apiKey: string;
  readonly baseUrl: () => string | undefined;
  readonly timeoutMs: number;
  readonly maxRetries: number;
  /** A fetch wrapper (error bodies, the LLM gate); the global fetch when absent. */
  readonly fetch?: (input: string | URL | Request, init?: RequestInit) => Promise<Response>;
}

/** A lazily built SDK client: the first call builds it, later calls return the same one. */
export function lazyOpenAiClient(opts: OpenAiClientOptions): () => OpenAI {
  let client: OpenAI | undefined;
  return () => {
    client ??= new OpenAI({
      apiKey: opts.apiKey,
      baseURL: opts.baseUrl(),
      timeout: opts.timeoutMs,
      maxRetries: opts.maxRetries,
      ...(opts.fetch ? { fetch: opts.fetch } : {}),
    });
    return client;
  };
}
