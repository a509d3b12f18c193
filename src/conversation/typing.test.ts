import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ChannelName, ChannelSender } from '../channels/types.ts';
import { TypingKeeper } from './typing.ts';

function recorder(channel: ChannelName) {
  const calls: { chatId: string; replyTo?: string }[] = [];
  const sender: ChannelSender = {
    channel,
    maxTextLength: 4096,
    split: (t) => [t],
    send: async () => ({ platformMessageId: '1' }),
    typing: async (chatId, replyTo) => void calls.push({ chatId, replyTo }),
  };
  return { sender, calls };
}

describe('typing that lasts', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('re-sends the WhatsApp indicator every 20 s on the answered message, up to the cap', () => {
    const keeper = new TypingKeeper({ maxMs: 120_000 });
    const wa = recorder('whatsapp');
    keeper.start(1, wa.sender, '34600000000', 'wamid.X');
    expect(wa.calls).toHaveLength(1);
    vi.advanceTimersByTime(45_000); // a slow LLM: 45 s
    expect(wa.calls).toHaveLength(3); // t = 0, 20, 40 s: never more than ~25 s without one
    expect(wa.calls.every((c) => c.replyTo === 'wamid.X')).toBe(true);
    vi.advanceTimersByTime(200_000);
    expect(wa.calls).toHaveLength(7); // 0, 20, … 120 s: then the 120 s cap stops it
    expect(keeper.size()).toBe(0);
  });

  it('refreshes Telegram every 4 s and stops when the reply starts going out', () => {
    const keeper = new TypingKeeper();
    const tg = recorder('telegram');
    keeper.start(2, tg.sender, '42');
    vi.advanceTimersByTime(9000);
    expect(tg.calls).toHaveLength(3);
    keeper.stop(2);
    vi.advanceTimersByTime(60_000);
    expect(tg.calls).toHaveLength(3);
  });
});
