/**
 * Builds the process's MediaService from the configuration: the WhatsApp and Telegram clients of
 * the configured channels (the in-process fakes in sandbox mode), one download limiter shared by
 * both, and the transcriber on the same OpenAI-compatible server as the chat model (the sandbox's
 * fake in sandbox mode).
 */
import type { Config } from '../config/config.ts';
import { Downloader } from './download.ts';
import { MediaService, type MediaSettings } from './service.ts';
import { TelegramMediaClient } from './telegram.ts';
import { OpenAiTranscriber, type Transcriber } from './transcribe.ts';
import { WhatsAppMediaClient } from './whatsapp.ts';

/** Settings from the environment. */
export function mediaSettings(config: Config): MediaSettings {
  const env = config.env;
  const canTranscribe = config.llm.kind === 'openai' || config.sandbox;
  return {
    transcription: canTranscribe && (env.ASSISTANT_TRANSCRIPTION ?? true),
    vision: env.ASSISTANT_VISION,
    maxBytes: env.MEDIA_MAX_BYTES,
    maxDocumentChars: env.MEDIA_MAX_DOCUMENT_CHARS,
  };
}

/** The service; `localBaseUrl` is where the sandbox fakes answer. */
export function createMediaService(config: Config, localBaseUrl: () => string): MediaService {
  const env = config.env;
  const settings = mediaSettings(config);
  const downloader = new Downloader(env.MEDIA_DOWNLOAD_CONCURRENCY);
  const timeoutMs = env.MEDIA_DOWNLOAD_TIMEOUT_MS;
  const wa = config.whatsapp;
  const whatsapp = wa
    ? new WhatsAppMediaClient(
        {
          baseUrl: () => wa.graphUrl ?? `${localBaseUrl()}/sandbox/graph`,
          graphVersion: wa.graphVersion,
          accessToken: wa.accessToken,
          timeoutMs,
        },
        downloader,
      )
    : undefined;
  const tg = config.telegram;
  const telegram = tg
    ? new TelegramMediaClient(
        { apiRoot: () => tg.apiUrl ?? `${localBaseUrl()}/sandbox/telegram`, botToken: tg.botToken, timeoutMs },
        downloader,
      )
    : undefined;
  let transcriber: Transcriber | undefined;
  if (settings.transcription) {
    const llm = config.llm;
    transcriber = new OpenAiTranscriber({
      apiKey: llm.kind === 'openai' ? llm.apiKey : 'sandbox',
      baseUrl: llm.kind === 'openai' ? () => llm.baseUrl : () => `${localBaseUrl()}/sandbox/openai/v1`,
      model: env.ASSISTANT_TRANSCRIPTION_MODEL,
      timeoutMs: env.OPENAI_TIMEOUT_MS,
      maxRetries: env.OPENAI_MAX_RETRIES,
    });
  }
  return new MediaService({ settings, whatsapp, telegram, transcriber });
}
