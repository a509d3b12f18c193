/**
 * What WADI understood of one inbound media message: the transcript of a voice note, the text of
 * a document, an image for the vision model, a location or contact card as text. Called by the
 * worker inside its turn (never on the webhook path). Every outcome is counted in
 * wadi_media_total{channel,kind,outcome} and the bytes in wadi_media_bytes_total.
 *
 * Outcomes the user must hear about (too large, gone, unsupported…) come back as an `Understood`
 * with no text; only `unavailable` (the platform or the transcriber is down) is thrown, so the
 * turn waits like an LLM outage.
 */
import type { ChannelName, InboundEvent } from '../channels/types.ts';
import { metrics } from '../observability/metrics/metrics.ts';
import { describeContacts, describeLocation } from './describe.ts';
import { MediaError, type MediaFailure } from './errors.ts';
import { extractDocument } from './extract.ts';
import { capFor } from './limits.ts';
import type { TelegramMediaClient } from './telegram.ts';
import type { Transcriber } from './transcribe.ts';
import type { FetchedMedia, WhatsAppMediaClient } from './whatsapp.ts';

/** Media behaviour from the configuration. */
export interface MediaSettings {
  /** ASSISTANT_TRANSCRIPTION (on by default when an LLM is configured). */
  readonly transcription: boolean;
  /** ASSISTANT_VISION. */
  readonly vision: boolean;
  /** MEDIA_MAX_BYTES, or undefined for the per-kind defaults. */
  readonly maxBytes?: number;
  /** MEDIA_MAX_DOCUMENT_CHARS. */
  readonly maxDocumentChars: number;
}

/** How an item ended. */
export type MediaOutcome =
  | 'transcribed'
  | 'extracted'
  | 'image'
  | 'caption_only'
  | 'described'
  | 'empty'
  | 'disabled'
  | Exclude<MediaFailure, 'unavailable'>;

/** The media kinds the service handles. */
export type MediaKind = 'audio' | 'image' | 'sticker' | 'document' | 'video' | 'location' | 'contacts';

/** What WADI made of one message. */
export interface Understood {
  readonly kind: MediaKind;
  readonly outcome: MediaOutcome;
  /**
   * What the model reads and the history keeps (transcript, document text, "[image] caption", a
   * caption alone); undefined when the user gets a notice instead.
   */
  readonly text?: string;
  /** The caption, kept apart (the fallback when a model refuses the image). */
  readonly caption?: string;
  /** Vision only: the image as a data URL for this request (never stored). */
  readonly imageUrl?: string;
  /** Bytes downloaded. */
  readonly bytes?: number;
  readonly mimeType?: string;
  readonly fileName?: string;
  /** The document had more text than MEDIA_MAX_DOCUMENT_CHARS. */
  readonly truncated?: boolean;
  /** The cap that was exceeded (too_large). */
  readonly limit?: number;
}

/** The service's collaborators. */
export interface MediaServiceDeps {
  readonly settings: MediaSettings;
  readonly whatsapp?: WhatsAppMediaClient;
  readonly telegram?: TelegramMediaClient;
  /** Undefined when transcription is off or no LLM is configured. */
  readonly transcriber?: Transcriber;
}

const MEDIA_KINDS = new Set<string>(['audio', 'image', 'sticker', 'document', 'video', 'location', 'contacts']);

/** True when the message kind is one the media service understands. */
export function isMediaKind(kind: string): kind is MediaKind {
  return MEDIA_KINDS.has(kind);
}

/** Understands inbound media. */
export class MediaService {
  private readonly deps: MediaServiceDeps;

  constructor(deps: MediaServiceDeps) {
    this.deps = deps;
  }

  get settings(): MediaSettings {
    return this.deps.settings;
  }

  /**
   * Understands one message. `language` is the conversation's locale (the transcription hint).
   * Throws MediaError('unavailable') when it is worth trying later, or an AbortError.
   */
  async understand(event: InboundEvent, opts: { language: string; signal?: AbortSignal }): Promise<Understood> {
    const kind = event.kind as MediaKind;
    const channel = event.channel;
    try {
      const u = await this.run(event, kind, opts);
      metrics.mediaItems.inc({ channel, kind, outcome: u.outcome });
      if (u.bytes) metrics.mediaBytes.inc({ channel, kind }, u.bytes);
      return u;
    } catch (err) {
      if (!(err instanceof MediaError)) throw err;
      if (err.bytesRead > 0) metrics.mediaBytes.inc({ channel, kind }, err.bytesRead);
      metrics.mediaItems.inc({ channel, kind, outcome: err.reason });
      if (err.reason === 'unavailable') throw err;
      // A failure is answered with a notice (the caption is not answered on its own: the user
      // sends the file again, with it).
      return {
        kind,
        outcome: err.reason,
        limit: err.limit,
        mimeType: event.media?.mimeType,
        fileName: event.media?.fileName,
      };
    }
  }

  private async run(
    event: InboundEvent,
    kind: MediaKind,
    opts: { language: string; signal?: AbortSignal },
  ): Promise<Understood> {
    const s = this.deps.settings;
    if (kind === 'location') {
      if (!event.location) return { kind, outcome: 'empty' };
      return { kind, outcome: 'described', text: withCaption(describeLocation(event.location), event.text) };
    }
    if (kind === 'contacts') {
      const text = describeContacts(event.extra?.contacts);
      return text ? { kind, outcome: 'described', text } : { kind, outcome: 'empty' };
    }
    const media = event.media;
    if (!media) return { kind, outcome: 'empty', text: caption(event) };
    const base = { kind, mimeType: media.mimeType, fileName: media.fileName };

    if (kind === 'video') return { ...base, outcome: 'unsupported', text: caption(event) };
    if (kind === 'audio') {
      if (!s.transcription || !this.deps.transcriber) return { ...base, outcome: 'disabled', text: caption(event) };
      const file = await this.fetch(event, kind, opts.signal);
      const transcript = await this.deps.transcriber.transcribe({
        bytes: file.bytes,
        mimeType: file.mimeType ?? media.mimeType,
        language: opts.language,
        signal: opts.signal,
      });
      const got = { ...base, mimeType: file.mimeType ?? media.mimeType, bytes: file.bytes.length };
      if (!transcript) return { ...got, outcome: 'empty', text: caption(event) };
      return { ...got, outcome: 'transcribed', text: withCaption(transcript, media.caption) };
    }
    if (kind === 'sticker' && event.extra?.animated) return { ...base, outcome: 'unsupported', text: caption(event) };
    const imageDocument = kind === 'document' && /^image\//i.test(media.mimeType ?? '');
    if (kind === 'image' || kind === 'sticker' || imageDocument) {
      if (!s.vision) return { ...base, outcome: caption(event) ? 'caption_only' : 'disabled', text: caption(event) };
      const file = await this.fetch(event, imageDocument ? 'image' : kind, opts.signal);
      const mime = imageMime(file.mimeType ?? media.mimeType, kind);
      return {
        ...base,
        mimeType: mime,
        bytes: file.bytes.length,
        caption: caption(event),
        outcome: 'image',
        text: `[image]${caption(event) ? ` ${caption(event)}` : ''}`,
        imageUrl: `data:${mime};base64,${file.bytes.toString('base64')}`,
      };
    }
    // A document.
    const file = await this.fetch(event, kind, opts.signal);
    const doc = await extractDocument(file.bytes, {
      mimeType: file.mimeType ?? media.mimeType,
      fileName: media.fileName,
      maxChars: s.maxDocumentChars,
    });
    const header = `[document${media.fileName ? `: ${media.fileName}` : ''}]`;
    const text = [header, caption(event), doc.text, doc.truncated ? '[…]' : undefined].filter(Boolean).join('\n\n');
    return { ...base, bytes: file.bytes.length, outcome: 'extracted', truncated: doc.truncated, text };
  }

  private fetch(event: InboundEvent, kind: string, signal?: AbortSignal): Promise<FetchedMedia> {
    const cap = capFor(event.channel, kind, this.deps.settings.maxBytes);
    const id = largestUnder(event, cap) ?? event.media?.id ?? '';
    const client = channelClient(this.deps, event.channel);
    if (!client) throw new MediaError('rejected', `${event.channel} media cannot be fetched (channel not configured)`);
    return client.fetch(id, cap, signal);
  }
}

/** Telegram photos come in several sizes: the largest whose announced size fits the cap. */
function largestUnder(event: InboundEvent, cap: number): string | undefined {
  const sizes = event.extra?.photoSizes;
  if (!Array.isArray(sizes)) return undefined;
  let best: string | undefined;
  for (const s of sizes as { id?: unknown; size?: unknown }[]) {
    if (typeof s?.id !== 'string') continue;
    if (typeof s.size === 'number' && s.size > cap) continue;
    best = s.id; // ascending order: later fitting sizes are larger
  }
  return best;
}

function channelClient(
  deps: MediaServiceDeps,
  channel: ChannelName,
): WhatsAppMediaClient | TelegramMediaClient | undefined {
  return channel === 'whatsapp' ? deps.whatsapp : deps.telegram;
}

function caption(event: InboundEvent): string | undefined {
  const c = (event.media?.caption ?? (event.kind === 'sticker' ? undefined : event.text))?.trim();
  return c ? c : undefined;
}

function withCaption(text: string, extra?: string): string {
  const c = extra?.trim();
  return c && c !== text ? `${c}\n\n${text}` : text;
}

const IMAGE_TYPES = new Set(['image/jpeg', 'image/png', 'image/webp', 'image/gif']);

function imageMime(mime: string | undefined, kind: string): string {
  const m = mime?.split(';')[0].trim().toLowerCase();
  if (m && IMAGE_TYPES.has(m)) return m;
  return kind === 'sticker' ? 'image/webp' : 'image/jpeg';
}
