/**
 * A small HTTP(S) client for the checks: node:http/https rather than fetch, because the checks
 * need per-request CAs, no automatic redirects and raw header access.
 */
import http from 'node:http';
import https from 'node:https';

/** What came back. */
export interface HttpAnswer {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

/** Request options. */
export interface HttpOptions {
  readonly method?: string;
  readonly headers?: Record<string, string>;
  readonly body?: string;
  readonly timeoutMs?: number;
  readonly ca?: string;
  /** Read headers even when the certificate does not validate (the certificate has its own item). */
  readonly insecure?: boolean;
}

/** Sends one request; rejects on network errors and timeouts with a message free of the URL's
 * path and query (they may hold a bot token). */
export function request(url: string, opts: HttpOptions = {}): Promise<HttpAnswer> {
  const u = new URL(url);
  const mod = u.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.request(
      u,
      {
        method: opts.method ?? 'GET',
        headers: { 'user-agent': 'wadi-preflight', ...opts.headers },
        timeout: opts.timeoutMs ?? 5000,
        ...(u.protocol === 'https:' ? { ca: opts.ca ? [opts.ca] : undefined, rejectUnauthorized: !opts.insecure } : {}),
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          // Enough for any answer the checks read; a misbehaving server cannot exhaust memory.
          if (size < 1024 * 1024) chunks.push(c);
          size += c.length;
        });
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer from ${u.host} within ${opts.timeoutMs ?? 5000} ms`)));
    req.on('error', (err: NodeJS.ErrnoException) =>
      reject(new Error(err.code ? `${err.code} connecting to ${u.host}` : err.message)),
    );
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}

/** The single value of a response header. */
export function header(a: HttpAnswer, name: string): string | undefined {
  const v = a.headers[name.toLowerCase()];
  return Array.isArray(v) ? v.join(', ') : v;
}
