/** Errors only the admin API answers with (the shared ones are in src/http/errors.ts). */
import { AppError } from '../http/errors.ts';

/** Constructors for admin-specific errors, each with a stable code. */
export const adminErrors = {
  /** The observability feature (ops.stats) is not running in this process. */
  statsUnavailable: () =>
    new AppError('stats_unavailable', 503, 'request statistics are not available in this process', {
      headers: { 'retry-after': '30' },
    }),
  /** The alerts feature (ops.alerts) is not running in this process. */
  alertsUnavailable: () =>
    new AppError('alerts_unavailable', 503, 'alerts are not available in this process', {
      headers: { 'retry-after': '30' },
    }),
  /** Replay asked for a message that is not a dead letter. */
  notDead: (id: number) => new AppError('not_dead', 409, `inbox message ${id} is not a dead letter`),
  /** The sandbox webhook call did not answer 200. */
  webhookRejected: (status: number) =>
    new AppError('webhook_rejected', 502, `the webhook answered ${status} instead of 200`),
  /** The sandbox webhook could not be reached at all. */
  webhookUnreachable: () => new AppError('webhook_unreachable', 502, 'the webhook could not be reached'),
  /** Too many failed key attempts or requests from this client. */
  tooManyRequests: (retryAfterSeconds: number) =>
    new AppError('too_many_requests', 429, 'too many requests; retry later', {
      headers: { 'retry-after': String(Math.max(1, retryAfterSeconds)) },
    }),
} as const;
