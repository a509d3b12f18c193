import { describe, expect, it } from 'vitest';
import { type Assistant, AssistantRejectedError, AssistantUnavailableError } from './assistant.ts';
import { CircuitBreakerAssistant } from './breaker.ts';

function flaky() {
  const state = { fail: true, calls: 0 };
  const inner: Assistant = {
    name: 'flaky',
    async reply() {
      state.calls++;
      if (state.fail) throw new AssistantUnavailableError('down');
      return { text: 'ok' };
    },
  };
  return { inner, state };
}

const req = { messages: [{ role: 'user' as const, content: 'hola' }], locale: 'es' as const };

describe('circuit breaker', () => {
  it('opens after repeated failures, fails fast while open, and closes after a successful trial', async () => {
    let now = 1_000_000;
    const { inner, state } = flaky();
    const b = new CircuitBreakerAssistant(inner, { failures: 3, openMs: 30_000, now: () => now });
    for (let i = 0; i < 3; i++) await expect(b.reply(req)).rejects.toBeInstanceOf(AssistantUnavailableError);
    expect(b.state()).toBe('open');
    expect(b.breakerOpen()).toBe(true);
    expect(b.lastError()).toBe('down');

    // Open: no call reaches the LLM; the error says when to come back.
    const err = (await b.reply(req).catch((e) => e)) as AssistantUnavailableError;
    expect(err).toBeInstanceOf(AssistantUnavailableError);
    expect(err.retryAfterMs).toBe(30_000);
    expect(state.calls).toBe(3);

    // Half-open after the wait: one failed trial reopens it at once.
    now += 30_000;
    expect(b.state()).toBe('half_open');
    await expect(b.reply(req)).rejects.toBeInstanceOf(AssistantUnavailableError);
    expect(state.calls).toBe(4);
    expect(b.state()).toBe('open');

    // The LLM is back: the next trial closes the breaker.
    now += 30_000;
    state.fail = false;
    expect((await b.reply(req)).text).toBe('ok');
    expect(b.state()).toBe('closed');
    expect(b.breakerOpen()).toBe(false);
    expect(b.lastError()).toBeUndefined();
  });

  it('does not count rejected requests, and a success resets the count', async () => {
    let mode: 'reject' | 'down' | 'ok' = 'reject';
    const inner: Assistant = {
      name: 'x',
      async reply() {
        if (mode === 'reject') throw new AssistantRejectedError('400');
        if (mode === 'down') throw new AssistantUnavailableError('503');
        return { text: 'ok' };
      },
    };
    const b = new CircuitBreakerAssistant(inner, { failures: 2, openMs: 1000, now: () => 0 });
    for (let i = 0; i < 5; i++) await expect(b.reply(req)).rejects.toBeInstanceOf(AssistantRejectedError);
    expect(b.state()).toBe('closed');
    mode = 'down';
    await expect(b.reply(req)).rejects.toThrow('503');
    mode = 'ok';
    await b.reply(req);
    mode = 'down';
    await expect(b.reply(req)).rejects.toThrow('503');
    expect(b.state()).toBe('closed');
    await expect(b.reply(req)).rejects.toThrow('503');
    expect(b.state()).toBe('open');
  });
});
