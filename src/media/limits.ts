/**
 * Download caps. Without MEDIA_MAX_BYTES each kind gets the platform's own limit (WhatsApp: audio
 * and video 16 MB, image 5 MB, sticker 500 KB; documents are capped at 20 MB rather than Meta's
 * 100 MB because WADI reads them in memory); MEDIA_MAX_BYTES sets one cap for every kind.
 * Telegram bots can never download more than 20 MB.
 */
import type { ChannelName } from '../channels/types.ts';

const MB = 1024 * 1024;

/** Default caps per kind, bytes. */
export const DEFAULT_CAPS: Readonly<Record<string, number>> = {
  audio: 16 * MB,
  image: 5 * MB,
  sticker: 500 * 1024,
  video: 16 * MB,
  document: 20 * MB,
};

/** The Bot API's download ceiling. */
export const TELEGRAM_DOWNLOAD_CEILING = 20 * MB;

/** The cap for one item. */
export function capFor(channel: ChannelName, kind: string, maxBytes?: number): number {
  const cap = maxBytes ?? DEFAULT_CAPS[kind] ?? 16 * MB;
  return channel === 'telegram' ? Math.min(cap, TELEGRAM_DOWNLOAD_CEILING) : cap;
}

/** "5 MB", "500 KB": a limit as users read it. */
export function formatBytes(n: number): string {
  if (n >= MB) return `${Math.round((n / MB) * 10) / 10} MB`;
  if (n >= 1024) return `${Math.round(n / 1024)} KB`;
  return `${n} B`;
}
