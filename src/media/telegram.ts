/**
 * Telegram files: `getFile(file_id)` answers a `file_path`, then
 * `GET {api}/file/bot<token>/<file_path>`. Bots can download at most 20 MB. The token is part of
 * both URLs, so nothing here ever puts a URL into an error.
 */
import { type Downloader, retryAfterMs } from './download.ts';
import { MediaError } from './errors.ts';
import { TELEGRAM_DOWNLOAD_CEILING } from './limits.ts';
import type { FetchedMedia } from './whatsapp.ts';

/** Where and how to reach the Bot API. */
export interface TelegramMediaOptions {
  /** Bot API root, e.g. https://api.telegram.org (resolved per call). */
  readonly apiRoot: () => string;
  readonly botToken: string;
  readonly timeoutMs: number;
}

interface GetFileAnswer {
  ok?: boolean;
  result?: { file_path?: unknown; file_size?: unknown };
  error_code?: number;
  description?: string;
  parameters?: { retry_after?: number };
}

/** Fetches Telegram files by file_id. */
export class TelegramMediaClient {
  private readonly opts: TelegramMediaOptions;
  private readonly downloader: Downloader;

  constructor(opts: TelegramMediaOptions, downloader: Downloader) {
    this.opts = opts;
    this.downloader = downloader;
  }

  /** getFile then the download, under one download slot; throws MediaError. */
  fetch(fileId: string, maxBytes: number, signal?: AbortSignal): Promise<FetchedMedia> {
    const cap = Math.min(maxBytes, TELEGRAM_DOWNLOAD_CEILING);
    return this.downloader.run(async () => {
      const root = this.opts.apiRoot().replace(/\/+$/, '');
      const file = await this.getFile(root, fileId, cap, signal);
      const path = file.path
        .split('/')
        .map((s) => encodeURIComponent(s))
        .join('/');
      const got = await this.downloader.fetch({
        url: `${root}/file/bot${this.opts.botToken}/${path}`,
        maxBytes: cap,
        timeoutMs: this.opts.timeoutMs,
        signal,
      });
      return { bytes: got.bytes, mimeType: got.contentType, announcedSize: file.size };
    });
  }

  private async getFile(
    root: string,
    fileId: string,
    cap: number,
    signal?: AbortSignal,
  ): Promise<{ path: string; size?: number }> {
    let res: Response;
    try {
      res = await fetch(`${root}/bot${this.opts.botToken}/getFile`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ file_id: fileId }),
        signal: signal
          ? AbortSignal.any([signal, AbortSignal.timeout(this.opts.timeoutMs)])
          : AbortSignal.timeout(this.opts.timeoutMs),
      });
    } catch (err) {
      if (signal?.aborted) {
        const e = new Error('download aborted');
        e.name = 'AbortError';
        throw e;
      }
      const code = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
      throw new MediaError('unavailable', `getFile failed (${code})`);
    }
    const body = (await res.json().catch(() => ({}))) as GetFileAnswer;
    if (res.ok && body.ok && typeof body.result?.file_path === 'string' && body.result.file_path) {
      const size = Number(body.result.file_size);
      if (Number.isFinite(size) && size > cap) {
        throw new MediaError('too_large', `the file is ${size} bytes, over the ${cap}-byte limit`, { limit: cap });
      }
      return { path: body.result.file_path, size: Number.isFinite(size) ? size : undefined };
    }
    const description = String(body.description ?? '').slice(0, 200);
    if (res.status === 429 || res.status >= 500) {
      const wait = body.parameters?.retry_after ?? undefined;
      throw new MediaError('unavailable', `getFile answered ${res.status}`, {
        retryAfterMs: wait !== undefined ? wait * 1000 : retryAfterMs(res.headers.get('retry-after')),
      });
    }
    if (/too big/i.test(description)) {
      throw new MediaError('too_large', 'Telegram says the file is too big for bots (20 MB)', {
        limit: TELEGRAM_DOWNLOAD_CEILING,
      });
    }
    if (res.status === 401 || res.status === 403) throw new MediaError('rejected', `getFile answered ${res.status}`);
    throw new MediaError('gone', `getFile answered ${res.status}`);
  }
}
