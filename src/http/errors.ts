/**
 * Every error WADI answers over HTTP, declared once with a stable code and status. Responses are
 * `{error: {code, message}}`; internals (stacks, SQL, upstream bodies) only ever go to the log.
 */

import { AppError } from '../kernel/errors.ts';

export { AppError };

/** Constructors for the errors WADI answers with. */
export const errors = {
  badRequest: (message: string) => new AppError('bad_request', 400, message),
  malformedJson: () => new AppError('malformed_json', 400, 'the request body is not valid JSON'),
  unauthorized: (message = 'missing or invalid credentials') => new AppError('unauthorized', 401, message),
  invalidSignature: () => new AppError('invalid_signature', 401, 'the request signature does not match'),
  forbidden: (message = 'forbidden') => new AppError('forbidden', 403, message),
  notFound: (message = 'not found') => new AppError('not_found', 404, message),
  payloadTooLarge: () => new AppError('payload_too_large', 413, 'the request body is too large'),
  unsupportedMediaType: () => new AppError('unsupported_media_type', 415, 'unsupported content type'),
  tooManyRequests: (retryAfterSeconds: number) =>
    new AppError('too_many_requests', 429, 'too many requests; retry later', {
      headers: { 'retry-after': String(retryAfterSeconds) },
    }),
  unavailable: (message = 'temporarily unavailable; retry later', retryAfterSeconds = 5) =>
    new AppError('unavailable', 503, message, { headers: { 'retry-after': String(retryAfterSeconds) } }),
} as const;

/** Maps Fastify's own error codes to ours, so clients see one vocabulary. */
export function fromFastifyError(err: {
  code?: string;
  statusCode?: number;
  message: string;
  validation?: unknown;
}): AppError | undefined {
  switch (err.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return errors.malformedJson();
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return errors.payloadTooLarge();
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
        ? errors.unsupportedMediaType()
        : errors.badRequest('invalid content length');
    case 'FST_ERR_VALIDATION':
      return errors.badRequest(err.message);
    default:
      if (err.validation) return errors.badRequest(err.message);
      if (err.statusCode === 429) return errors.tooManyRequests(60);
      if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
        return new AppError('bad_request', err.statusCode, err.message);
      }
      return undefined;
  }
}
