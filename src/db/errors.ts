/** Raised when the database cannot be opened; the message says what to do. */
export class DatabaseOpenError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DatabaseOpenError';
  }
}

/** The SQLSTATE of a PostgreSQL (or PGlite) error, if `err` is one. */
export function sqlState(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/** Condition names of the SQLSTATEs a hostile payload produces, for reasons an operator reads. */
const CONDITIONS: Record<string, string> = {
  '22001': 'string_data_right_truncation',
  '22003': 'numeric_value_out_of_range',
  '22007': 'invalid_datetime_format',
  '22008': 'datetime_field_overflow',
  '22009': 'invalid_time_zone_displacement_value',
  '22021': 'character_not_in_repertoire',
  '22023': 'invalid_parameter_value',
  '22P02': 'invalid_text_representation',
  '22P05': 'untranslatable_character',
  '2202E': 'array_subscript_error',
  '22032': 'invalid_json_text',
  '54000': 'program_limit_exceeded',
  '54001': 'statement_too_complex',
};

/**
 * True when the database refused the data itself (SQLSTATE class 22 "data exception" or 54
 * "program limit exceeded"), or the driver could not even encode it: trying again will fail the
 * same way, unlike a lost connection or a deadlock.
 */
export function isDataError(err: unknown): boolean {
  const code = sqlState(err);
  if (code) return code.startsWith('22') || code.startsWith('54');
  return err instanceof RangeError;
}

/** `22007 invalid_datetime_format`: what went wrong, never the value that did it. */
export function describeDataError(err: unknown): string {
  const code = sqlState(err);
  if (code) return `${code} ${CONDITIONS[code] ?? 'data_exception'}`;
  return err instanceof Error ? `${err.name} while encoding` : 'unknown error';
}

/** PostgreSQL error fields that quote the statement's data (message text, JSON context). */
const CONTENT_FIELDS = ['detail', 'where', 'hint', 'internalQuery', 'query', 'parameters'] as const;

/**
 * A serialised error (pino's `err`) with no message content left in it: PostgreSQL quotes the
 * offending value in the message (`invalid input syntax for type json: "…"`) and the JSON text in
 * `where`/`detail`. For database errors those fields are dropped, and for data exceptions the quoted
 * values in the message (and the stack's first line) are replaced by `"…"`; other errors pass unchanged.
 */
export function withoutDatabaseContent<T extends Record<string, unknown>>(serialised: T): T {
  if (!sqlState(serialised) || !('severity' in serialised || 'routine' in serialised || 'file' in serialised)) {
    return serialised;
  }
  const out: Record<string, unknown> = { ...serialised };
  for (const f of CONTENT_FIELDS) delete out[f];
  if (!isDataError(serialised)) return out as T;
  // Data exceptions quote the value they refused; other classes quote identifiers, which stay.
  const message = typeof out.message === 'string' ? out.message : '';
  const safe = redactQuoted(message);
  out.message = safe;
  if (typeof out.stack === 'string' && message) out.stack = out.stack.split(message).join(safe);
  return out as T;
}

function redactQuoted(s: string): string {
  return s.replace(/"(?:[^"\\]|\\.)*"/gs, '"…"').replace(/'(?:[^'\\]|\\.)*'/gs, "'…'");
}

/**
 * True for the errors PostgreSQL sends a connection it is closing on purpose: 57P01
 * admin_shutdown (`pg_terminate_backend`, `DROP DATABASE … WITH (FORCE)`, a fast shutdown),
 * 57P02 crash_shutdown, 57P03 cannot_connect_now. On an idle pooled client that is the server
 * going away, not a fault of WADI's: the pool drops the client and connects anew when needed.
 */
export function isServerShutdown(err: unknown): boolean {
  const code = sqlState(err);
  return code === '57P01' || code === '57P02' || code === '57P03';
}
