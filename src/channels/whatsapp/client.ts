/**
 * A small WhatsApp Cloud API client on global fetch: send text, mark as read, typing indicator.
 * Failures become `RetryableSendError` or `PermanentSendError`, decided by Meta's error `code`
 * (throttling arrives as HTTP 400 nowadays, so the HTTP status only decides when there is no code).
 */
import type { Logger } from 'pino';
import { type ChannelError, type PermanentReason, PermanentSendError, RetryableSendError } from '../errors.ts';

/** How the client reaches the Graph API. */
export interface GraphClientOptions {
  /** Base URL without the version (https://graph.facebook.com or the sandbox fake), resolved per call. */
  readonly baseUrl: () => string;
  readonly graphVersion: string;
  readonly phoneNumberId: string;
  readonly accessToken: string;
  /** Per-request timeout (default 10 s). */
  readonly timeoutMs?: number;
  readonly logger?: Logger;
}

/** Options of one text send. */
export interface SendTextOptions {
  /** wamid of the message being answered (shown as a quoted reply). */
  readonly replyTo?: string;
  readonly previewUrl?: boolean;
}

// Meta's pair rate limit is about one message per 6 s to the same user.
const PAIR_BACKOFF_MS = 6000;
const RETRYABLE_CODES = new Set([130429, 131056, 4, 80007, 131000, 131016]);
const PERMANENT: ReadonlyMap<number, PermanentReason> = new Map([
  [131047, 'window_closed'],
  [470, 'window_closed'],
  [131026, 'undeliverable'],
  [131051, 'unsupported'],
  [100, 'bad_request'],
  [131008, 'bad_request'],
  [131009, 'bad_request'],
  [131021, 'bad_request'],
  [190, 'auth'],
  [10, 'auth'],
]);

/** Seconds or an HTTP date in Retry-After → ms. */
export function parseRetryAfter(v: string | null | undefined, now = Date.now()): number | undefined {
  if (!v) return undefined;
  const s = Number(v);
  if (Number.isFinite(s) && s >= 0) return Math.round(s * 1000);
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Maps a Graph API error answer to the error class that decides retry. */
export function classifyGraphError(status: number, body: unknown, retryAfter?: string | null): ChannelError {
  const err =
    typeof body === 'object' && body !== null && typeof (body as { error?: unknown }).error === 'object'
      ? ((body as { error: Record<string, unknown> }).error ?? {})
      : {};
  const code = typeof err.code === 'number' ? err.code : Number(err.code);
  const hasCode = Number.isInteger(code);
  const data = (err.error_data ?? {}) as { details?: unknown };
  const title = typeof err.message === 'string' ? err.message : undefined;
  const detail = typeof data.details === 'string' ? data.details : undefined;
  const codeStr = hasCode ? String(code) : `http_${status}`;
  const base = { code: codeStr, title, detail };
  let retryAfterMs = parseRetryAfter(retryAfter);

  if (hasCode && RETRYABLE_CODES.has(code)) {
    if (code === 131056) retryAfterMs = Math.max(retryAfterMs ?? 0, PAIR_BACKOFF_MS);
    return new RetryableSendError(`WhatsApp asked to retry later (code ${code})`, { ...base, retryAfterMs });
  }
  const reason = hasCode ? PERMANENT.get(code) : undefined;
  if (reason) return new PermanentSendError(`WhatsApp refused the message (code ${code})`, { ...base, reason });
  if (hasCode && code >= 200 && code <= 299) {
    return new PermanentSendError(`WhatsApp permission error (code ${code})`, { ...base, reason: 'auth' });
  }
  if (status >= 500 || status === 429) {
    return new RetryableSendError(`WhatsApp answered HTTP ${status}`, { ...base, retryAfterMs });
  }
  return new PermanentSendError(`WhatsApp refused the request (${codeStr})`, { ...base, reason: 'permanent' });
}

/** The Graph API client. */
export class GraphClient {
  private readonly opts: GraphClientOptions;

  constructor(opts: GraphClientOptions) {
    this.opts = opts;
  }

  /** Sends a text message; resolves with the wamid Meta assigned. */
  async sendText(to: string, body: string, options: SendTextOptions = {}): Promise<string> {
    const payload: Record<string, unknown> = {
      messaging_product: 'whatsapp',
      recipient_type: 'individual',
      to,
      type: 'text',
      text: { body, preview_url: options.previewUrl ?? false },
    };
    if (options.replyTo) payload.context = { message_id: options.replyTo };
    const res = (await this.post(payload)) as { messages?: { id?: unknown }[] };
    const id = res.messages?.[0]?.id;
    if (typeof id !== 'string') {
      throw new RetryableSendError('WhatsApp accepted the send without a message id', { code: 'no_message_id' });
    }
    return id;
  }

  /**
   * Sends an approved template (the only kind of message Meta accepts outside the 24 h window);
   * `parameters` fill the body's {{1}}, {{2}}…. Resolves with the wamid.
   */
  async sendTemplate(
    to: string,
    template: { readonly name: string; readonly language: string; readonly parameters: readonly string[] },
  ): Promise<string> {
    const components =
      template.parameters.length > 0
        ? [{ type: 'body', parameters: template.parameters.map((text) => ({ type: 'text', text })) }]
        : [];
    const res = (await this.post({
      messaging_product: 'whatsapp',
      recipient_type: 'individual',
      to,
      type: 'template',
      template: { name: template.name, language: { code: template.language }, components },
    })) as { messages?: { id?: unknown }[] };
    const id = res.messages?.[0]?.id;
    if (typeof id !== 'string') {
      throw new RetryableSendError('WhatsApp accepted the template without a message id', { code: 'no_message_id' });
    }
    return id;
  }

  /** Marks an inbound message as read (blue ticks). */
  async markRead(messageId: string): Promise<void> {
    await this.post({ messaging_product: 'whatsapp', status: 'read', message_id: messageId });
  }

  /** Shows "typing…" for up to 25 s; also marks the message read. */
  async typing(messageId: string): Promise<void> {
    await this.post({
      messaging_product: 'whatsapp',
      status: 'read',
      message_id: messageId,
      typing_indicator: { type: 'text' },
    });
  }

  /** The business number as Meta sees it: proves the token works (a management call: use sparingly). */
  async phoneNumberInfo(): Promise<{ id: string; display_phone_number?: string; verified_name?: string }> {
    return (await this.request('GET', '?fields=id,display_phone_number,verified_name,quality_rating')) as {
      id: string;
    };
  }

  private post(payload: unknown): Promise<unknown> {
    return this.request('POST', '/messages', payload);
  }

  private async request(method: 'GET' | 'POST', suffix: string, payload?: unknown): Promise<unknown> {
    const { baseUrl, graphVersion, phoneNumberId, accessToken } = this.opts;
    const url = `${baseUrl().replace(/\/+$/, '')}/${graphVersion}/${phoneNumberId}${suffix}`;
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers: {
          authorization: `Bearer ${accessToken}`,
          ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: payload === undefined ? undefined : JSON.stringify(payload),
        signal: AbortSignal.timeout(this.opts.timeoutMs ?? 10_000),
      });
    } catch (err) {
      const name = (err as Error).name;
      const timeout = name === 'TimeoutError' || name === 'AbortError';
      throw new RetryableSendError(timeout ? 'WhatsApp request timed out' : 'WhatsApp request failed (network)', {
        code: timeout ? 'timeout' : 'network',
        cause: err,
      });
    }
    let body: unknown;
    try {
      body = await res.json();
    } catch (err) {
      if (res.ok)
        throw new RetryableSendError('WhatsApp answered with an unreadable body', { code: 'bad_body', cause: err });
      body = undefined;
    }
    if (res.ok) return body;
    const error = classifyGraphError(res.status, body, res.headers.get('retry-after'));
    if (error instanceof PermanentSendError && error.reason === 'auth') {
      // Nothing a retry can fix: an operator has to renew the token or the app's permissions.
      this.opts.logger?.error(
        { code: error.code, status: res.status },
        'WhatsApp rejected the access token or its permissions: set a valid WHATSAPP_ACCESS_TOKEN',
      );
    }
    throw error;
  }
}
