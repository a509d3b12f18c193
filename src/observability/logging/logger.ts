/**
 * Logger factory: pino with key-path redaction, a last-line scrub of every configured secret value
 * (tokens can hide inside URLs and error messages), pretty output on a terminal outside production,
 * JSON lines on stdout in production, and a ring buffer of recent records for /admin/logs.
 */
import { Writable } from 'node:stream';
import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';
import { withoutDatabaseContent } from '../../db/errors.ts';
import { traceLogFields } from '../tracing/context.ts';
import { LogRing } from './log-ring.ts';

/** Key paths whose values never reach a log line. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["x-admin-key"]',
  'req.headers["x-hub-signature-256"]',
  'req.headers["x-telegram-bot-api-secret-token"]',
  'req.headers.cookie',
  'headers.authorization',
  'headers["x-admin-key"]',
  'headers["x-hub-signature-256"]',
  'headers["x-telegram-bot-api-secret-token"]',
  '*.token',
  '*.apiKey',
  '*.api_key',
  '*.accessToken',
  '*.access_token',
  '*.secret',
  '*.password',
  '*.botToken',
  'token',
  'apiKey',
  'accessToken',
  'secret',
  'password',
];

/** What `createLogger` needs. */
export interface LoggerOptions {
  readonly level: string;
  readonly format: 'json' | 'pretty';
  /** Secret values scrubbed from every line, whatever key or text holds them. */
  readonly secrets?: readonly string[];
  readonly ringSize?: number;
  /** Where lines go (stdout by default); tests pass a capture stream. */
  readonly destination?: NodeJS.WritableStream;
  readonly base?: Record<string, unknown>;
}

/** A logger together with its recent-records buffer and a flush for shutdown. */
export interface LogKit {
  readonly logger: Logger;
  readonly ring: LogRing;
  flush(): Promise<void>;
}

/** Builds the process logger. */
export function createLogger(opts: LoggerOptions): LogKit {
  const ring = new LogRing(opts.ringSize ?? 1000);
  const scrub = makeScrubber(opts.secrets ?? []);
  const out =
    opts.destination ??
    (opts.format === 'pretty'
      ? pretty({ colorize: process.stdout.isTTY, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname', sync: true })
      : pino.destination({ dest: 1, sync: false }));
  const ringStream = new Writable({
    write(chunk, _enc, cb) {
      ring.pushLine(chunk.toString());
      cb();
    },
  });
  const logger = pino(
    {
      level: opts.level,
      base: opts.base ?? { pid: process.pid },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      // PostgreSQL errors quote the data they refused: never let message content into a log line.
      serializers: { err: (e: Error) => withoutDatabaseContent(pino.stdSerializers.err(e)) },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      hooks: { streamWrite: scrub },
      // trace_id/span_id of the active span (nothing when tracing is off), to jump from a log line to its trace.
      mixin: traceLogFields,
    },
    pino.multistream([
      { stream: out, level: 'trace' },
      { stream: ringStream, level: 'trace' },
    ]),
  );
  return {
    logger,
    ring,
    flush: () =>
      new Promise((resolve) => {
        const dest = out as { flush?: (cb?: (err?: Error) => void) => void };
        if (typeof dest.flush === 'function' && !opts.destination && opts.format === 'json') {
          try {
            dest.flush(() => resolve());
            return;
          } catch {
            // not ready (nothing written yet): nothing to flush
          }
        }
        resolve();
      }),
  };
}

/** Returns a function replacing each secret, raw or JSON-escaped, with [redacted]. */
export function makeScrubber(secrets: readonly string[]): (line: string) => string {
  const needles = [...new Set(secrets.flatMap((s) => [s, JSON.stringify(s).slice(1, -1), encodeURIComponent(s)]))]
    .filter((s) => s.length >= 6)
    .sort((a, b) => b.length - a.length);
  if (needles.length === 0) return (line) => line;
  return (line) => {
    let out = line;
    for (const n of needles) if (out.includes(n)) out = out.split(n).join('[redacted]');
    return out;
  };
}
