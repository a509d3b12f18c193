/**
 * Chooses and wraps the assistant from the config: the OpenAI-compatible adapter when an LLM is
 * configured (or, in sandbox mode with WADI_SANDBOX_LLM, the in-process fake over HTTP), else the
 * offline demo assistant; always behind the circuit breaker.
 */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from '../config/config.ts';
import type { HealthCheck } from '../kernel/health.ts';
import type { Assistant } from './assistant.ts';
import { CircuitBreakerAssistant } from './breaker.ts';
import { LlmGate, LocalBackoffStore, RedisBackoffStore } from './llm-gate.ts';
import { OfflineAssistant } from './offline.ts';
import { OpenAiAssistant } from './openai.ts';
import { chatLengthLine, defaultPersona } from './persona.ts';

/** Builds the process's assistant; `localBaseUrl` is where the sandbox fake answers. */
export function createAssistant(
  config: Config,
  localBaseUrl: () => string,
  opts: { now?: () => number; redis?: Redis; logger?: Logger } = {},
): CircuitBreakerAssistant {
  const env = config.env;
  // One gate per process: LLM_MAX_CONCURRENCY requests in flight, one provider backoff (through
  // Redis across replicas when configured).
  const gate = new LlmGate({
    maxConcurrency: env.LLM_MAX_CONCURRENCY,
    store: opts.redis ? new RedisBackoffStore(opts.redis, { logger: opts.logger }) : new LocalBackoffStore(),
    maxWaitMs: env.OPENAI_TIMEOUT_MS,
  });
  // The persona, then one line asking for chat-sized answers (ASSISTANT_MAX_OUTPUT_TOKENS is the hard cap).
  const systemPrompt = (locale: 'es' | 'en') =>
    `${config.systemPrompt ?? defaultPersona(locale)}

${chatLengthLine(locale)}`;
  const maxOutputTokens = env.ASSISTANT_MAX_OUTPUT_TOKENS;
  let inner: Assistant;
  if (config.llm.kind === 'openai') {
    const baseUrl = config.llm.baseUrl;
    inner = new OpenAiAssistant({
      apiKey: config.llm.apiKey,
      baseUrl: () => baseUrl,
      model: config.llm.model,
      timeoutMs: env.OPENAI_TIMEOUT_MS,
      maxRetries: env.OPENAI_MAX_RETRIES,
      systemPrompt,
      maxOutputTokens,
      gate,
    });
  } else if (config.sandbox && env.WADI_SANDBOX_LLM) {
    inner = new OpenAiAssistant({
      apiKey: 'sandbox',
      baseUrl: () => `${localBaseUrl()}/sandbox/openai/v1`,
      model: env.OPENAI_MODEL,
      timeoutMs: env.OPENAI_TIMEOUT_MS,
      maxRetries: env.OPENAI_MAX_RETRIES,
      systemPrompt,
      maxOutputTokens,
      gate,
    });
  } else {
    inner = new OfflineAssistant();
  }
  return new CircuitBreakerAssistant(inner, {
    failures: env.ASSISTANT_BREAKER_FAILURES,
    openMs: env.ASSISTANT_BREAKER_OPEN_MS,
    now: opts.now,
  });
}

/** The `llm` dependency check for /admin/health: warns while the breaker is open. */
export function assistantCheck(assistant: CircuitBreakerAssistant): HealthCheck {
  return {
    name: 'llm',
    componentType: 'component',
    run: () =>
      assistant.breakerOpen()
        ? { status: 'warn', output: `circuit breaker open: ${assistant.lastError() ?? 'LLM failing'}` }
        : { status: 'pass', observedValue: assistant.name },
  };
}
