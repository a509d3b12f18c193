/**
 * Speech to text through the OpenAI-compatible `POST /audio/transcriptions` (OpenAI, Groq,
 * whisper.cpp and vLLM servers, or the sandbox fake), with the official SDK, a language hint and
 * bounded retries. Network errors, timeouts, 429 and 5xx are `unavailable` (the turn waits as for
 * an LLM outage); other 4xx are `rejected` (the user gets a notice). Timed by
 * wadi_transcription_duration_seconds.
 */
import type OpenAI from 'openai';
import { APIConnectionError, APIError, APIUserAbortError, toFile } from 'openai';
import { lazyOpenAiClient } from '../assistant/openai-client.ts';
import { metrics } from '../observability/metrics/metrics.ts';
import { MediaError } from './errors.ts';

/** Transcriber settings. */
export interface TranscriberOptions {
  readonly apiKey: string;
  /** Resolved at first use (the sandbox fake's port is known only once WADI listens). */
  readonly baseUrl: () => string | undefined;
  readonly model: string;
  readonly timeoutMs: number;
  readonly maxRetries: number;
}

/** One audio file to transcribe. */
export interface TranscriptionRequest {
  readonly bytes: Buffer;
  readonly mimeType?: string;
  /** ISO-639-1 hint ("es", "en"). */
  readonly language: string;
  readonly signal?: AbortSignal;
}

const EXT: Record<string, string> = {
  'audio/ogg': 'ogg',
  'audio/opus': 'ogg',
  'audio/mpeg': 'mp3',
  'audio/mp3': 'mp3',
  'audio/mp4': 'm4a',
  'audio/m4a': 'm4a',
  'audio/x-m4a': 'm4a',
  'audio/aac': 'm4a',
  'audio/amr': 'amr',
  'audio/wav': 'wav',
  'audio/x-wav': 'wav',
  'audio/webm': 'webm',
  'video/mp4': 'mp4',
};

/** The port the turn uses (the sandbox and tests use the same class against the fake). */
export interface Transcriber {
  transcribe(req: TranscriptionRequest): Promise<string>;
}

/** Transcriptions over any OpenAI-compatible server. */
export class OpenAiTranscriber implements Transcriber {
  private readonly sdk: () => OpenAI;
  private readonly opts: TranscriberOptions;

  constructor(opts: TranscriberOptions) {
    this.opts = opts;
    this.sdk = lazyOpenAiClient(opts);
  }

  /** The transcript (possibly empty); throws MediaError. */
  async transcribe(req: TranscriptionRequest): Promise<string> {
    const started = performance.now();
    const observe = (outcome: string) =>
      metrics.transcriptionDuration.observe({ outcome }, (performance.now() - started) / 1000);
    const mime = req.mimeType?.split(';')[0].trim().toLowerCase() ?? 'audio/ogg';
    try {
      const file = await toFile(req.bytes, `audio.${EXT[mime] ?? 'ogg'}`, { type: mime });
      const res = await this.sdk().audio.transcriptions.create(
        { file, model: this.opts.model, language: req.language, response_format: 'json' },
        { signal: req.signal },
      );
      observe('success');
      return (res.text ?? '').trim();
    } catch (err) {
      if (err instanceof APIUserAbortError || req.signal?.aborted) {
        observe('aborted');
        const e = new Error('transcription aborted');
        e.name = 'AbortError';
        throw e;
      }
      if (err instanceof APIConnectionError) {
        observe('unavailable');
        throw new MediaError('unavailable', 'transcription service unreachable');
      }
      if (err instanceof APIError) {
        const status = err.status ?? 0;
        if (status === 429 || status >= 500 || status === 408) {
          observe('unavailable');
          throw new MediaError('unavailable', `transcription service answered ${status}`);
        }
        observe('rejected');
        throw new MediaError('rejected', `transcription service rejected the audio (${status})`);
      }
      observe('error');
      throw new MediaError('unavailable', `transcription failed (${(err as Error).name})`);
    }
  }
}
