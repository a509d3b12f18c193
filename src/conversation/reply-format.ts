/**
 * Every text a turn sends, the assistant's answers and WADI's own texts alike, goes through the
 * channel renderer (src/render) and then the channel's markup-aware splitter, so what reaches the
 * user never shows raw Markdown and every part is valid on its own.
 */
import { splitText } from '../channels/split.ts';
import type { ChannelSender } from '../channels/types.ts';
import { renderFor } from '../render/render.ts';

const FALLBACK_SPLIT_LIMIT = 4096;

/** Parts to queue and the send options they go out with. */
export interface FormattedReply {
  readonly parts: string[];
  readonly options: Record<string, unknown>;
}

/** Renders `markdown` for `channel` and splits it with the channel's sender (when this process has one). */
export function formatReply(channel: string, sender: ChannelSender | undefined, markdown: string): FormattedReply {
  const rendered = renderFor(channel, markdown);
  const parts = sender
    ? sender.split(rendered.text, rendered.options)
    : splitText(rendered.text, { limit: FALLBACK_SPLIT_LIMIT });
  return { parts, options: rendered.options };
}
