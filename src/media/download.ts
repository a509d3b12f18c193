/**
 * Streaming downloads with a byte cap. The body is read chunk by chunk and the request is aborted
 * as soon as the total would pass the cap, so nothing beyond the cap is ever buffered; a
 * Content-Length above the cap aborts before reading anything. Concurrency is bounded per process
 * (p-limit). Errors name the status, never the URL (a Telegram file URL contains the bot token).
 */
import pLimit, { type LimitFunction } from 'p-limit';
import { MediaError } from './errors.ts';

/** One download. */
export interface DownloadRequest {
  readonly url: string;
  readonly headers?: Record<string, string>;
  /** Largest body accepted, bytes. */
  readonly maxBytes: number;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
}

/** A completed download. */
export interface Downloaded {
  readonly bytes: Buffer;
  /** Content-Type the server sent, without parameters, if any. */
  readonly contentType?: string;
}

/** HTTP status of a failed download, for the caller to classify. */
export class DownloadStatusError extends MediaError {
  readonly status: number;
  constructor(status: number, retryAfterMs?: number) {
    const reason = status === 429 || status >= 500 ? 'unavailable' : status === 401 ? 'rejected' : 'gone';
    super(reason, `download answered ${status}`, { retryAfterMs });
    this.status = status;
  }
}

/** Parses Retry-After (seconds) into ms. */
export function retryAfterMs(header: string | null): number | undefined {
  if (!header) return undefined;
  const s = Number(header);
  return Number.isFinite(s) && s >= 0 ? Math.min(s, 3600) * 1000 : undefined;
}

/** Downloads with a bounded number in flight per instance. */
export class Downloader {
  private readonly limit: LimitFunction;

  constructor(concurrency: number) {
    this.limit = pLimit(Math.max(1, concurrency));
  }

  /** Downloads in flight right now plus those waiting for a slot. */
  get busy(): number {
    return this.limit.activeCount + this.limit.pendingCount;
  }

  /** Runs `fn` (which may do several requests, e.g. metadata then body) under one download slot. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    return this.limit(fn);
  }

  /** Fetches `req.url` into memory, never more than `req.maxBytes`. */
  async fetch(req: DownloadRequest): Promise<Downloaded> {
    return download(req);
  }
}

/** One capped, streaming download (no concurrency bound: see Downloader). */
export async function download(req: DownloadRequest): Promise<Downloaded> {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(new Error('timeout')), req.timeoutMs);
  const onAbort = () => ctl.abort(req.signal?.reason);
  req.signal?.addEventListener('abort', onAbort, { once: true });
  let read = 0;
  try {
    let res: Response;
    try {
      res = await fetch(req.url, { headers: req.headers, signal: ctl.signal, redirect: 'follow' });
    } catch (err) {
      throw networkError(err, req.signal, read);
    }
    if (!res.ok) {
      await res.body?.cancel().catch(() => {});
      throw new DownloadStatusError(res.status, retryAfterMs(res.headers.get('retry-after')));
    }
    const declared = Number(res.headers.get('content-length'));
    if (Number.isFinite(declared) && declared > req.maxBytes) {
      await res.body?.cancel().catch(() => {});
      throw new MediaError('too_large', `the file is ${declared} bytes, over the ${req.maxBytes}-byte limit`, {
        limit: req.maxBytes,
      });
    }
    const chunks: Buffer[] = [];
    if (res.body) {
      const reader = res.body.getReader();
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          read += value.byteLength;
          if (read > req.maxBytes) {
            // Stop the transfer: the rest is never read.
            await reader.cancel().catch(() => {});
            ctl.abort(new Error('over the cap'));
            throw new MediaError('too_large', `the file is over the ${req.maxBytes}-byte limit`, {
              limit: req.maxBytes,
              bytesRead: read,
            });
          }
          chunks.push(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
        }
      } catch (err) {
        if (err instanceof MediaError) throw err;
        throw networkError(err, req.signal, read);
      }
    }
    const type = res.headers.get('content-type')?.split(';')[0].trim().toLowerCase() || undefined;
    return { bytes: Buffer.concat(chunks, read), contentType: type };
  } finally {
    clearTimeout(timer);
    req.signal?.removeEventListener('abort', onAbort);
  }
}

function networkError(err: unknown, signal: AbortSignal | undefined, bytesRead: number): Error {
  if (signal?.aborted) {
    // The worker is shutting down or lost its lease: not the file's fault.
    const e = new Error('download aborted');
    e.name = 'AbortError';
    return e;
  }
  const code = (err as { cause?: { code?: string } })?.cause?.code ?? (err as Error)?.name ?? 'error';
  return new MediaError('unavailable', `download failed (${code})`, { bytesRead });
}
