/**
 * "Typing…" while a turn runs: shown once at turn start (WhatsApp's indicator also marks the
 * message read and lasts until the reply), refreshed every 4 s on Telegram (its chat action fades
 * after ~5 s) until the dispatcher sends the reply or a safety cap ends it.
 */
import type { ChannelSender } from '../channels/types.ts';

const REFRESH_MS = 4000;
const MAX_MS = 120_000;

/** Per-conversation typing indicators of this process. */
export class TypingKeeper {
  private readonly active = new Map<number, { timer?: NodeJS.Timeout; cap: NodeJS.Timeout }>();

  /** Shows typing now and keeps it up (Telegram) until stop(conversationId). */
  start(conversationId: number, sender: ChannelSender, chatId: string, replyTo?: string): void {
    this.stop(conversationId);
    void sender.typing(chatId, replyTo).catch(() => {});
    const timer =
      sender.channel === 'telegram'
        ? setInterval(() => void sender.typing(chatId).catch(() => {}), REFRESH_MS)
        : undefined;
    timer?.unref();
    const cap = setTimeout(() => this.stop(conversationId), MAX_MS);
    cap.unref();
    this.active.set(conversationId, { timer, cap });
  }

  /** Stops the indicator refresh for a conversation. */
  stop(conversationId: number): void {
    const a = this.active.get(conversationId);
    if (!a) return;
    if (a.timer) clearInterval(a.timer);
    clearTimeout(a.cap);
    this.active.delete(conversationId);
  }

  /** Stops everything (shutdown). */
  stopAll(): void {
    for (const id of [...this.active.keys()]) this.stop(id);
  }
}
