/**
 * Chooses and wraps the assistant from the config: the OpenAI-compatible adapter when an LLM is
 * configured (or, in sandbox mode with WADI_SANDBOX_LLM, the in-process fake over HTTP), else the
 * offline demo assistant; always behind the circuit breaker.
 */
import type { Config } from '../config/config.ts';
import type { HealthCheck } from '../kernel/health.ts';
import type { Assistant } from './assistant.ts';
import { CircuitBreakerAssistant } from './breaker.ts';
import { OfflineAssistant } from './offline.ts';
import { OpenAiAssistant } from './openai.ts';
import { defaultPersona } from './persona.ts';

/** Builds the process's assistant; `localBaseUrl` is where the sandbox fake answers. */
export function createAssistant(
  config: Config,
  localBaseUrl: () => string,
  opts: { now?: () => number } = {},
): CircuitBreakerAssistant {
  const env = config.env;
  const systemPrompt = (locale: 'es' | 'en') => config.systemPrompt ?? defaultPersona(locale);
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
    });
  } else if (config.sandbox && env.WADI_SANDBOX_LLM) {
    inner = new OpenAiAssistant({
      apiKey: 'sandbox',
      baseUrl: () => `${localBaseUrl()}/sandbox/openai/v1`,
      model: env.OPENAI_MODEL,
      timeoutMs: env.OPENAI_TIMEOUT_MS,
      maxRetries: env.OPENAI_MAX_RETRIES,
      systemPrompt,
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
