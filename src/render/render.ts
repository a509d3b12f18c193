/**
 * The one entry point: the model's Markdown (or one of WADI's own texts) → what a channel sends.
 * WhatsApp gets its markup as plain text; Telegram gets HTML and the `parse_mode` that says so.
 * Splitting to the platform limit happens after this, in the channel's sender (`split`), which
 * keeps the markup valid in every part.
 */
import type { ChannelName } from '../channels/types.ts';
import { renderTelegramHtml } from './telegram.ts';
import { renderWhatsApp } from './whatsapp.ts';

/** How a rendered text must be sent. */
export type TextFormat = 'whatsapp' | 'telegram_html' | 'plain';

/** A rendered reply, before splitting. */
export interface RenderedText {
  readonly text: string;
  readonly format: TextFormat;
  /** Send options the format needs (Telegram: `parse_mode`). */
  readonly options: Record<string, unknown>;
}

/** Renders Markdown for `channel`; blank input renders blank. */
export function renderFor(channel: ChannelName | string, markdown: string): RenderedText {
  if (channel === 'telegram') {
    const text = renderTelegramHtml(markdown);
    return { text, format: 'telegram_html', options: text ? { parse_mode: 'HTML' } : {} };
  }
  if (channel === 'whatsapp') return { text: renderWhatsApp(markdown), format: 'whatsapp', options: {} };
  return { text: markdown.trim(), format: 'plain', options: {} };
}
