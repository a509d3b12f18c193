/**
 * Maps Bot API failures to WADI's send error classes. The HTTP status (= error_code) decides
 * retry; `parameters` (retry_after, migrate_to_chat_id) are structured. Only the *reason label*
 * of a 400 looks at the description, because Telegram gives no other field for it; retry never does.
 */
import { GrammyError, HttpError } from 'grammy';
import { type ChannelError, PermanentSendError, RetryableSendError } from '../errors.ts';

/** Turns whatever grammY threw into a RetryableSendError or PermanentSendError. */
export function mapTelegramError(err: unknown, method: string): ChannelError {
  if (err instanceof GrammyError) {
    const code = err.error_code;
    const detail = err.description;
    const base = { code: String(code), title: detail };
    const params = err.parameters ?? {};
    if (code === 429) {
      const s = typeof params.retry_after === 'number' ? params.retry_after : undefined;
      return new RetryableSendError(`Telegram ${method}: too many requests`, {
        ...base,
        retryAfterMs: s !== undefined ? s * 1000 : undefined,
      });
    }
    if (params.migrate_to_chat_id !== undefined) {
      return new PermanentSendError(`Telegram ${method}: the group became a supergroup`, {
        ...base,
        reason: 'chat_not_found',
        migrateToChatId: String(params.migrate_to_chat_id),
      });
    }
    if (code >= 500) return new RetryableSendError(`Telegram ${method}: server error ${code}`, base);
    if (code === 403)
      return new PermanentSendError(`Telegram ${method}: the bot cannot write to this chat`, {
        ...base,
        reason: 'blocked',
      });
    if (code === 401 || code === 404) {
      // The Bot API answers 404 for a wrong token, 401 for a revoked one.
      return new PermanentSendError(`Telegram ${method}: the bot token was refused`, { ...base, reason: 'auth' });
    }
    if (code === 400) {
      const reason = /chat not found|user not found|PEER_ID_INVALID/i.test(detail)
        ? 'chat_not_found'
        : /can't parse entities/i.test(detail)
          ? 'bad_markup'
          : 'bad_request';
      return new PermanentSendError(`Telegram ${method}: bad request`, { ...base, reason });
    }
    return new PermanentSendError(`Telegram ${method}: refused (${code})`, { ...base, reason: 'permanent' });
  }
  if (err instanceof HttpError) {
    // grammY's underlying error can carry the request URL, which contains the token: keep it out.
    return new RetryableSendError(`Telegram ${method}: network error`, { code: 'network' });
  }
  return new RetryableSendError(`Telegram ${method}: ${(err as Error)?.name ?? 'error'}`, { code: 'unknown' });
}
