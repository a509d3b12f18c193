/**
 * A test channel: a ChannelSender that records every send and typing call in memory and can be
 * told to throw RetryableSendError / PermanentSendError for its next sends. Pass it to
 * `createWadi`/`startTestWadi` as `senders: [sender]`.
 */
import { splitText } from '../../src/channels/split.ts';
import type { ChannelName, ChannelSender, OutboundMessage, SendResult } from '../../src/channels/types.ts';

/** One recorded send. */
export interface RecordedSend {
  readonly chatId: string;
  readonly text: string;
  readonly platformMessageId: string;
  readonly at: number;
}

/** The in-memory sender. */
export class TestSender implements ChannelSender {
  readonly channel: ChannelName;
  readonly maxTextLength: number;
  readonly sends: RecordedSend[] = [];
  readonly typings: { chatId: string; replyTo?: string }[] = [];
  private readonly failures: (() => Error)[] = [];
  private seq = 0;
  /** Delay before each send resolves (ms). */
  delayMs = 0;

  constructor(channel: ChannelName = 'whatsapp', maxTextLength = 4096) {
    this.channel = channel;
    this.maxTextLength = maxTextLength;
  }

  /** The next sends throw these errors, one each, in order. */
  failNext(...errors: (() => Error)[]): void {
    this.failures.push(...errors);
  }

  split(text: string): string[] {
    return splitText(text, { limit: this.maxTextLength });
  }

  async send(m: OutboundMessage): Promise<SendResult> {
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    const f = this.failures.shift();
    if (f) throw f();
    const platformMessageId = `${this.channel}.test.${++this.seq}.${Math.random().toString(36).slice(2, 8)}`;
    this.sends.push({ chatId: m.chatId, text: m.text, platformMessageId, at: Date.now() });
    return { platformMessageId };
  }

  async typing(chatId: string, replyTo?: string): Promise<void> {
    this.typings.push({ chatId, replyTo });
  }

  /** Texts sent to one chat, in order. */
  textsTo(chatId: string): string[] {
    return this.sends.filter((s) => s.chatId === chatId).map((s) => s.text);
  }
}
