/**
 * WhatsApp media in two steps: `GET /{version}/{media-id}` with the access token answers the
 * download URL, mime type, sha256 and size; then `GET url` with the same token. The URL expires
 * within minutes, so it is asked for again on every attempt (and once more when the download
 * says it expired). The bytes are checked against the announced sha256.
 */
import { createHash } from 'node:crypto';
import { type Downloader, DownloadStatusError, retryAfterMs } from './download.ts';
import { MediaError } from './errors.ts';

/** Where and how to reach the Graph API. */
export interface WhatsAppMediaOptions {
  /** Graph base, e.g. https://graph.facebook.com (resolved per call: the sandbox port comes late). */
  readonly baseUrl: () => string;
  readonly graphVersion: string;
  readonly accessToken: string;
  readonly timeoutMs: number;
}

/** A fetched media item. */
export interface FetchedMedia {
  readonly bytes: Buffer;
  readonly mimeType?: string;
  /** The file's size as the platform announced it (before downloading). */
  readonly announcedSize?: number;
}

interface MediaInfo {
  url?: unknown;
  mime_type?: unknown;
  sha256?: unknown;
  file_size?: unknown;
}

/** Fetches WhatsApp media by id. */
export class WhatsAppMediaClient {
  private readonly opts: WhatsAppMediaOptions;
  private readonly downloader: Downloader;

  constructor(opts: WhatsAppMediaOptions, downloader: Downloader) {
    this.opts = opts;
    this.downloader = downloader;
  }

  /** Metadata then bytes, under one download slot; throws MediaError. */
  fetch(mediaId: string, maxBytes: number, signal?: AbortSignal): Promise<FetchedMedia> {
    return this.downloader.run(async () => {
      for (let attempt = 0; ; attempt++) {
        const info = await this.info(mediaId, signal);
        const size = typeof info.file_size === 'number' ? info.file_size : Number(info.file_size);
        if (Number.isFinite(size) && size > maxBytes) {
          throw new MediaError('too_large', `the file is ${size} bytes, over the ${maxBytes}-byte limit`, {
            limit: maxBytes,
          });
        }
        if (typeof info.url !== 'string' || !/^https?:\/\//.test(info.url)) {
          throw new MediaError('rejected', 'the Graph API answered no download url');
        }
        try {
          const got = await this.downloader.fetch({
            url: info.url,
            headers: { authorization: `Bearer ${this.opts.accessToken}` },
            maxBytes,
            timeoutMs: this.opts.timeoutMs,
            signal,
          });
          const sha = typeof info.sha256 === 'string' && info.sha256 ? info.sha256 : undefined;
          if (sha && !sameDigest(got.bytes, sha)) {
            throw new MediaError('integrity', 'the downloaded file does not match its sha256', {
              bytesRead: got.bytes.length,
            });
          }
          const mimeType = typeof info.mime_type === 'string' ? info.mime_type : got.contentType;
          return { bytes: got.bytes, mimeType, announcedSize: Number.isFinite(size) ? size : undefined };
        } catch (err) {
          // An expired link (404/403/410): one fresh link, then give up.
          if (err instanceof DownloadStatusError && err.reason === 'gone' && attempt === 0) continue;
          throw err;
        }
      }
    });
  }

  private async info(mediaId: string, signal?: AbortSignal): Promise<MediaInfo> {
    if (!/^[A-Za-z0-9._-]{1,128}$/.test(mediaId)) throw new MediaError('gone', 'not a media id');
    const base = this.opts.baseUrl().replace(/\/+$/, '');
    const url = `${base}/${this.opts.graphVersion}/${encodeURIComponent(mediaId)}`;
    let res: Response;
    try {
      res = await fetch(url, {
        headers: { authorization: `Bearer ${this.opts.accessToken}` },
        signal: signal
          ? AbortSignal.any([signal, AbortSignal.timeout(this.opts.timeoutMs)])
          : AbortSignal.timeout(this.opts.timeoutMs),
      });
    } catch (err) {
      if (signal?.aborted) throw abortError();
      const code = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
      throw new MediaError('unavailable', `Graph API media lookup failed (${code})`);
    }
    const body = (await res.json().catch(() => ({}))) as MediaInfo & { error?: { code?: number } };
    if (res.ok) return body;
    const code = body.error?.code;
    const wait = retryAfterMs(res.headers.get('retry-after'));
    if (res.status === 429 || res.status >= 500 || code === 4 || code === 80007 || code === 130429) {
      throw new MediaError('unavailable', `Graph API media lookup answered ${res.status}`, { retryAfterMs: wait });
    }
    if (res.status === 401 || res.status === 403 || code === 190 || code === 10) {
      throw new MediaError('rejected', `Graph API refused the media lookup (${res.status}, code ${code ?? '?'})`);
    }
    // 404, or 400 code 100 "Object with ID does not exist": unknown or expired id.
    throw new MediaError('gone', `Graph API does not know this media (${res.status}, code ${code ?? '?'})`);
  }
}

function sameDigest(bytes: Buffer, announced: string): boolean {
  const digest = createHash('sha256').update(bytes).digest();
  // Meta documents a hex digest; accept base64 too (some payloads carry it so).
  return digest.toString('hex') === announced.toLowerCase() || digest.toString('base64') === announced;
}

function abortError(): Error {
  const e = new Error('download aborted');
  e.name = 'AbortError';
  return e;
}
