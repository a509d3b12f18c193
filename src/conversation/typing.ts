/**
 * "Typing…" while a turn runs, until the dispatcher starts sending the reply or a safety cap ends
 * it. Both platforms let the indicator fade on their own, so it is re-sent: Telegram's chat action
 * lasts ~5 s (refreshed every 4 s), WhatsApp's indicator ~25 s (refreshed every
 * WHATSAPP_TYPING_REFRESH_MS, 20 s by default, on the message being answered: it also marks it read).
 */
import type { ChannelSender } from '../channels/types.ts';

/** Refresh intervals and cap (ms). */
export interface TypingOptions {
  readonly telegramRefreshMs?: number;
  readonly whatsappRefreshMs?: number;
  /** Longest one turn keeps the indicator up (TYPING_MAX_MS). */
  readonly maxMs?: number;
}

const TELEGRAM_REFRESH_MS = 4000;
const WHATSAPP_REFRESH_MS = 20_000;
const MAX_MS = 120_000;

/** Per-conversation typing indicators of this process. */
export class TypingKeeper {
  private readonly active = new Map<number, { timer: NodeJS.Timeout; cap: NodeJS.Timeout }>();
  private readonly refresh: Record<string, number>;
  private readonly maxMs: number;

  constructor(opts: TypingOptions = {}) {
    this.refresh = {
      telegram: opts.telegramRefreshMs ?? TELEGRAM_REFRESH_MS,
      whatsapp: opts.whatsappRefreshMs ?? WHATSAPP_REFRESH_MS,
    };
    this.maxMs = opts.maxMs ?? MAX_MS;
  }

  /** Shows typing now and keeps it up until stop(conversationId) or the cap. */
  start(conversationId: number, sender: ChannelSender, chatId: string, replyTo?: string): void {
    this.stop(conversationId);
    const show = () => void sender.typing(chatId, replyTo).catch(() => {});
    show();
    const timer = setInterval(show, this.refresh[sender.channel] ?? TELEGRAM_REFRESH_MS);
    timer.unref();
    const cap = setTimeout(() => this.stop(conversationId), this.maxMs);
    cap.unref();
    this.active.set(conversationId, { timer, cap });
  }

  /** Stops the indicator refresh for a conversation. */
  stop(conversationId: number): void {
    const a = this.active.get(conversationId);
    if (!a) return;
    clearInterval(a.timer);
    clearTimeout(a.cap);
    this.active.delete(conversationId);
  }

  /** Conversations whose indicator is being kept up (tests, shutdown). */
  size(): number {
    return this.active.size;
  }

  /** Stops everything (shutdown). */
  stopAll(): void {
    for (const id of [...this.active.keys()]) this.stop(id);
  }
}
