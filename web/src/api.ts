/** The admin API client: sends the key kept in sessionStorage, turns error bodies into ApiError. */

const KEY = 'wadi.adminKey';

/** The stored admin key, if the operator logged in during this browser session. */
export function storedKey(): string | null {
  return sessionStorage.getItem(KEY);
}

/** Keeps the key for this browser tab's session only. */
export function storeKey(key: string | null): void {
  if (key) sessionStorage.setItem(KEY, key);
  else sessionStorage.removeItem(KEY);
}

/** An error answered by the API (or the network). */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly retryAfter?: number;
  constructor(status: number, code: string, message: string, retryAfter?: number) {
    super(message);
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

/** Listeners told when the key stops working (401), so the app asks for it again. */
const unauthorizedListeners = new Set<() => void>();

/** Subscribes to "the key was refused". */
export function onUnauthorized(fn: () => void): () => void {
  unauthorizedListeners.add(fn);
  return () => unauthorizedListeners.delete(fn);
}

/** Whether WADI answers at all: since when it has not (null while it does), for the global banner. */
let failingSince: Date | null = null;
const connectionListeners = new Set<(since: Date | null) => void>();

/** Subscribes to "WADI stopped / started answering"; returns the unsubscribe function. */
export function onConnection(fn: (since: Date | null) => void): () => void {
  connectionListeners.add(fn);
  fn(failingSince);
  return () => connectionListeners.delete(fn);
}

function connection(ok: boolean): void {
  const next = ok ? null : (failingSince ?? new Date());
  if (next === failingSince) return;
  failingSince = next;
  for (const fn of connectionListeners) fn(failingSince);
}

/** Calls the admin API with the stored key (or `key`). */
export async function api<T>(
  path: string,
  init: { method?: string; body?: unknown; key?: string; file?: { bytes: Blob; type: string } } = {},
): Promise<T> {
  const key = init.key ?? storedKey() ?? '';
  let res: Response;
  try {
    res = await fetch(`/admin${path}`, {
      method: init.method ?? 'GET',
      headers: {
        'x-admin-key': key,
        ...(init.file ? { 'content-type': init.file.type } : {}),
        ...(init.body === undefined || init.file ? {} : { 'content-type': 'application/json' }),
      },
      // A file goes as its raw bytes (Content-Type: its type); anything else as JSON.
      body: init.file ? init.file.bytes : init.body === undefined ? undefined : JSON.stringify(init.body),
    });
  } catch {
    connection(false);
    throw new ApiError(0, 'network', 'WADI did not answer: is it running, and is this machine online?');
  }
  // A gateway in front of a stopped WADI answers 502/503/504: WADI itself is not answering.
  connection(res.status !== 502 && res.status !== 504);
  const text = await res.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  if (!res.ok) {
    const err = (body as { error?: { code?: string; message?: string } } | undefined)?.error;
    const retry = Number(res.headers.get('retry-after') ?? '') || undefined;
    const e = new ApiError(res.status, err?.code ?? 'http_error', err?.message ?? `HTTP ${res.status}`, retry);
    if (res.status === 401 && !init.key) for (const fn of unauthorizedListeners) fn();
    throw e;
  }
  return body as T;
}

/** Explains an error in words for the page. */
export function explain(err: unknown): string {
  if (err instanceof ApiError) {
    if (err.status === 401)
      return 'That admin key was not accepted. Check ADMIN_API_KEY (or the key WADI printed at start).';
    if (err.status === 429)
      return `Too many attempts from this address. Wait ${err.retryAfter ?? 60} seconds and try again.`;
    if (err.code === 'stats_unavailable') return 'Request statistics are not running in this WADI process.';
    if (err.code === 'alerts_unavailable') return 'Alerting is not running in this WADI process.';
    if (err.status === 413) return 'That file is larger than this WADI accepts.';
    return err.message;
  }
  return err instanceof Error ? err.message : String(err);
}
