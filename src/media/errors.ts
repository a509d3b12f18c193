/**
 * Why a media item could not be understood. The reason decides what the turn does: `unavailable`
 * waits like an LLM outage (the turn is postponed, not counted); every other reason is answered
 * with a localized notice and the turn goes on. Messages never carry a URL or a token.
 */

/** What went wrong with one media item. */
export type MediaFailure =
  /** Larger than the cap (`limit` says which). */
  | 'too_large'
  /** Unknown id, deleted, or the download link expired and a fresh one did not work either. */
  | 'gone'
  /** The bytes do not match the sha256 the platform announced. */
  | 'integrity'
  /** A type WADI cannot read (e.g. a spreadsheet, a PDF without text). */
  | 'unsupported'
  /** The platform or the transcriber is down, throttling or unreachable: try again later. */
  | 'unavailable'
  /** The platform or the transcriber refused the request (bad token, bad request). */
  | 'rejected';

/** A media item could not be fetched or read. */
export class MediaError extends Error {
  readonly code = 'MEDIA_ERROR';
  readonly reason: MediaFailure;
  /** The cap that was exceeded (too_large). */
  readonly limit?: number;
  /** Bytes read from the network before giving up. */
  readonly bytesRead: number;
  /** Seconds the upstream asked to wait (unavailable), if it said. */
  readonly retryAfterMs?: number;

  constructor(
    reason: MediaFailure,
    message: string,
    opts: { limit?: number; bytesRead?: number; retryAfterMs?: number } = {},
  ) {
    super(message);
    this.name = 'MediaError';
    this.reason = reason;
    this.limit = opts.limit;
    this.bytesRead = opts.bytesRead ?? 0;
    this.retryAfterMs = opts.retryAfterMs;
  }
}

/** Removes anything that looks like a bot token or a bearer secret from an upstream message. */
export function scrub(message: string, secrets: readonly string[]): string {
  let out = message;
  for (const s of secrets) if (s) out = out.split(s).join('<redacted>');
  return out.replace(/bot\d+:[A-Za-z0-9_-]+/g, 'bot<redacted>').slice(0, 300);
}
