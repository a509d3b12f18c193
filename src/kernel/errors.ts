/** The typed error every layer may throw; src/http/errors.ts maps it to a response and declares the catalogue. */

/** An error with a stable machine-readable code and the HTTP status it maps to. */
export class AppError extends Error {
  readonly code: string;
  readonly statusCode: number;
  readonly headers?: Record<string, string>;
  constructor(
    code: string,
    statusCode: number,
    message: string,
    opts: { cause?: unknown; headers?: Record<string, string> } = {},
  ) {
    super(message, { cause: opts.cause });
    this.name = 'AppError';
    this.code = code;
    this.statusCode = statusCode;
    this.headers = opts.headers;
  }
}
