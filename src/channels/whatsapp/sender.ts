/** The WhatsApp `ChannelSender`: splits to Meta's 4096-character limit (markup kept valid) and sends through the Graph client. */
import type { Logger } from 'pino';
import type { ChannelSender, OutboundMessage, SendResult } from '../types.ts';
import type { GraphClient } from './client.ts';
import { splitForWhatsApp, WHATSAPP_MAX_TEXT } from './split-markup.ts';

export { WHATSAPP_MAX_TEXT } from './split-markup.ts';

const HAS_URL = /https?:\/\/\S/;

/** The template of a send's options, when it carries a well-formed one. */
function templateOption(v: unknown): { name: string; language: string; parameters: string[] } | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const t = v as { name?: unknown; language?: unknown; parameters?: unknown };
  if (typeof t.name !== 'string' || typeof t.language !== 'string') return undefined;
  const parameters = Array.isArray(t.parameters) ? t.parameters.filter((p): p is string => typeof p === 'string') : [];
  return { name: t.name, language: t.language, parameters };
}

/** Sends replies to WhatsApp users. */
export class WhatsAppSender implements ChannelSender {
  readonly channel = 'whatsapp' as const;
  readonly maxTextLength = WHATSAPP_MAX_TEXT;
  private readonly client: GraphClient;
  private readonly logger?: Logger;

  constructor(client: GraphClient, logger?: Logger) {
    this.client = client;
    this.logger = logger;
  }

  /** Parts under 4096 characters, cut at paragraph, sentence, then word boundaries; ``` blocks stay balanced. */
  split(text: string): string[] {
    return splitForWhatsApp(text, WHATSAPP_MAX_TEXT);
  }

  /**
   * Sends one part; throws RetryableSendError / PermanentSendError. With `options.template`
   * ({name, language, parameters}) the approved template goes out instead of the text.
   */
  async send(message: OutboundMessage): Promise<SendResult> {
    const template = templateOption(message.options?.template);
    if (template) return { platformMessageId: await this.client.sendTemplate(message.chatId, template) };
    const preview = message.options?.previewUrl;
    const id = await this.client.sendText(message.chatId, message.text, {
      replyTo: message.replyTo,
      // Only the first URL gets a preview; ask for it when there is one.
      previewUrl: typeof preview === 'boolean' ? preview : HAS_URL.test(message.text),
    });
    return { platformMessageId: id };
  }

  /** Typing indicator on the message being answered (also marks it read). Never throws. */
  async typing(_chatId: string, replyTo?: string): Promise<void> {
    // WhatsApp's indicator is attached to an inbound message; without one there is nothing to show.
    if (!replyTo) return;
    try {
      await this.client.typing(replyTo);
    } catch (err) {
      this.logger?.debug({ err: (err as Error).message, code: (err as { code?: string }).code }, 'typing failed');
    }
  }
}
