/**
 * Send errors whose class decides what happens next: `RetryableSendError` is retried with backoff
 * (honouring `retryAfterMs`), `PermanentSendError` is recorded as failed and never retried.
 * Adapters map platform error codes to these; nobody matches on message strings.
 */

/** Base class: the platform (or the network) refused a send. */
export class ChannelError extends Error {
  /** Platform error code as a string (e.g. "131047", "429"), if any. */
  readonly code?: string;
  readonly title?: string;
  readonly detail?: string;
  constructor(message: string, opts: { code?: string; title?: string; detail?: string; cause?: unknown } = {}) {
    super(message, { cause: opts.cause });
    this.name = new.target.name;
    this.code = opts.code;
    this.title = opts.title;
    this.detail = opts.detail;
  }
}

/** Try again later: throttling, 5xx, timeouts, network errors. */
export class RetryableSendError extends ChannelError {
  /** How long the platform asked us to wait, if it said. */
  readonly retryAfterMs?: number;
  constructor(
    message: string,
    opts: { code?: string; title?: string; detail?: string; cause?: unknown; retryAfterMs?: number } = {},
  ) {
    super(message, opts);
    this.retryAfterMs = opts.retryAfterMs;
  }
}

/** Why a permanent failure happened, in WADI's words (stored as `failure_reason`). */
export type PermanentReason =
  | 'window_closed'
  | 'blocked'
  | 'chat_not_found'
  | 'undeliverable'
  | 'unsupported'
  | 'bad_request'
  | 'bad_markup'
  | 'auth'
  | 'permanent';

/** Never retry: closed window, blocked bot, bad request, expired token. */
export class PermanentSendError extends ChannelError {
  readonly reason: PermanentReason;
  /** The chat moved (Telegram group → supergroup): resend to this id. */
  readonly migrateToChatId?: string;
  constructor(
    message: string,
    opts: {
      code?: string;
      title?: string;
      detail?: string;
      cause?: unknown;
      reason?: PermanentReason;
      migrateToChatId?: string;
    } = {},
  ) {
    super(message, opts);
    this.reason = opts.reason ?? 'permanent';
    this.migrateToChatId = opts.migrateToChatId;
  }
}
