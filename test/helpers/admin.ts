/** An HTTP client for the admin API in tests: sends the key and a per-test client address. */
import { TEST_ADMIN_KEY } from './wadi.ts';

/** An answer, with the body parsed when it is JSON. */
export interface AdminResponse {
  readonly status: number;
  // biome-ignore lint/suspicious/noExplicitAny: test assertions read arbitrary JSON
  readonly body: any;
  readonly headers: Headers;
}

/** Options of one call: `key: null` sends no key; `ip` becomes X-Forwarded-For (TRUST_PROXY=true). */
export interface CallOptions {
  method?: string;
  body?: unknown;
  key?: string | null;
  ip?: string;
}

let ipCounter = 0;

/** A fresh client address, so rate limits of one test never leak into another. */
export function newIp(): string {
  ipCounter++;
  return `10.${process.pid % 250}.${Math.floor(ipCounter / 250) % 250}.${ipCounter % 250}`;
}

/** Calls `baseUrl + path` as an admin client. */
export function adminClient(baseUrl: () => string, defaults: { ip?: string } = {}) {
  const defaultIp = defaults.ip ?? newIp();
  return async function call(path: string, opts: CallOptions = {}): Promise<AdminResponse> {
    const headers: Record<string, string> = { 'x-forwarded-for': opts.ip ?? defaultIp };
    const key = opts.key === undefined ? TEST_ADMIN_KEY : opts.key;
    if (key !== null) headers['x-admin-key'] = key;
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${baseUrl()}${path}`, {
      method: opts.method ?? 'GET',
      headers,
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // HTML or empty body: keep the text
    }
    return { status: res.status, body, headers: res.headers };
  };
}
