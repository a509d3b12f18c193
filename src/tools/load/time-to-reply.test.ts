import { describe, expect, it } from 'vitest';
import { type AcceptedMessage, matchReplies, type PlatformReply, summarizeTtr } from './time-to-reply.ts';

const acc = (chat: string, n: number, at: number, channel: 'whatsapp' | 'telegram' = 'whatsapp'): AcceptedMessage => ({
  channel,
  chat,
  n,
  at,
  stage: 0,
});
const rep = (chat: string, at: number, text: string, channel: 'whatsapp' | 'telegram' = 'whatsapp'): PlatformReply => ({
  channel,
  chat,
  at,
  text,
});

describe('time-to-reply matching', () => {
  it('a reply answers the messages of its chat up to the one it echoes, never later ones', () => {
    const accepted = [acc('a', 1, 1000), acc('a', 2, 1100), acc('a', 3, 5000), acc('b', 4, 1000)];
    const replies = [
      rep('a', 3000, '[sandbox] hola 2'), // a coalesced burst of 1 and 2
      rep('b', 2500, '[sandbox] hola 4'),
      rep('a', 7000, '[sandbox] hola 3'),
    ];
    expect(matchReplies(accepted, replies)).toEqual([2000, 1900, 2000, 1500]);
  });

  it('channels do not mix, unanswered messages stay null, replies without an echo answer earlier messages', () => {
    const accepted = [acc('7', 1, 1000, 'telegram'), acc('7', 2, 1000, 'whatsapp'), acc('9', 3, 1000)];
    const replies = [rep('7', 1800, 'Hola, soy el asistente', 'telegram')];
    const t = matchReplies(accepted, replies);
    expect(t).toEqual([800, null, null]);
    expect(summarizeTtr(t)).toEqual({ messages: 3, answered: 1, p50Ms: 800, p95Ms: 800, maxMs: 800 });
  });

  it('a reply sent before the message was accepted does not answer it', () => {
    expect(matchReplies([acc('a', 5, 2000)], [rep('a', 1500, '[sandbox] hola 9')])).toEqual([null]);
  });
});
