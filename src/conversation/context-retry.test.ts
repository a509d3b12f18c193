import { describe, expect, it } from 'vitest';
import {
  type Assistant,
  AssistantContextTooLongError,
  type AssistantRequest,
  AssistantUnavailableError,
  type ChatMessage,
} from '../assistant/assistant.ts';
import { replyWithinContext, trimHistory } from './context-retry.ts';

const turn = (i: number): ChatMessage[] => [
  { role: 'user', content: `pregunta ${i} ${'x'.repeat(80)}` },
  { role: 'assistant', content: `respuesta ${i} ${'y'.repeat(80)}` },
];
const history = Array.from({ length: 12 }, (_, i) => turn(i)).flat();

/** An assistant that refuses the first `refusals` prompts as too long, recording every prompt. */
function scripted(refusals: number, other?: Error) {
  const prompts: AssistantRequest['messages'][] = [];
  const assistant: Assistant = {
    name: 'scripted',
    async reply(req) {
      prompts.push(req.messages);
      if (other) throw other;
      if (prompts.length <= refusals) throw new AssistantContextTooLongError('too long');
      return { text: 'ok' };
    },
  };
  return { assistant, prompts };
}
const user: ChatMessage[] = [{ role: 'user', content: 'la nueva' }];

describe('context-too-long recovery', () => {
  it('keeps the newest quarter of the window, starting on a user turn', () => {
    const t = trimHistory(history);
    expect(t.length).toBeGreaterThan(0);
    expect(t.length).toBeLessThanOrEqual(history.length / 4);
    expect(t[0].role).toBe('user');
    expect(t[t.length - 1]).toEqual(history[history.length - 1]);
    expect(trimHistory([])).toEqual([]);
  });

  it('retries once with the trimmed window and answers', async () => {
    const { assistant, prompts } = scripted(1);
    const trims: { from: number; to: number }[] = [];
    const r = await replyWithinContext(
      (m: ChatMessage[]) => assistant.reply({ messages: m, locale: 'es' }),
      { history, user },
      (x) => trims.push(x),
    );
    expect(r).toMatchObject({ ok: true, trimmed: true, reply: { text: 'ok' } });
    expect(prompts).toHaveLength(2);
    expect(prompts[1].length).toBeLessThan(prompts[0].length);
    expect(prompts[1][prompts[1].length - 1]).toEqual(user[0]);
    expect(trims).toEqual([{ from: history.length, to: prompts[1].length - 1 }]);
  });

  it('gives up after the second refusal, without a third call', async () => {
    const { assistant, prompts } = scripted(5);
    const r = await replyWithinContext((m: ChatMessage[]) => assistant.reply({ messages: m, locale: 'es' }), {
      history,
      user,
    });
    expect(r.ok).toBe(false);
    expect(prompts).toHaveLength(2);
  });

  it('lets every other error through untouched', async () => {
    const down = new AssistantUnavailableError('down');
    const { assistant, prompts } = scripted(0, down);
    await expect(
      replyWithinContext((m: ChatMessage[]) => assistant.reply({ messages: m, locale: 'es' }), { history, user }),
    ).rejects.toBe(down);
    expect(prompts).toHaveLength(1);
  });
});
