/** A bounded, in-memory buffer of this instance's most recent log records (for /admin/logs). */

/** One parsed log record as kept in the ring. */
export interface LogRecord {
  readonly level: string;
  readonly time: string;
  readonly msg?: string;
  readonly [key: string]: unknown;
}

const LEVELS: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 };

/** Fixed-size circular buffer; the oldest record is dropped when full. */
export class LogRing {
  private readonly items: (LogRecord | undefined)[];
  private next = 0;
  private count = 0;

  readonly capacity: number;
  constructor(capacity: number) {
    this.capacity = capacity;
    this.items = new Array(capacity);
  }

  /** Adds one serialized (already redacted) JSON line; non-JSON lines are ignored. */
  pushLine(line: string): void {
    let rec: LogRecord;
    try {
      rec = JSON.parse(line) as LogRecord;
    } catch {
      return;
    }
    if (typeof rec.level === 'number') rec = { ...rec, level: levelName(rec.level) };
    this.items[this.next] = rec;
    this.next = (this.next + 1) % this.capacity;
    this.count = Math.min(this.count + 1, this.capacity);
  }

  /** The newest `limit` records matching `filter`, newest last. */
  recent(filter: LogFilter = {}): LogRecord[] {
    return this.query(filter).records;
  }

  /**
   * The newest `limit` records matching `filter` (newest last), with what the page needs to offer
   * its filters: the routes seen in the buffer and how many sandbox records the filter hid.
   */
  query(filter: LogFilter = {}): LogQueryResult {
    const limit = Math.max(1, Math.min(filter.limit ?? 100, this.capacity));
    const min = LEVELS[filter.minLevel ?? 'trace'] ?? 10;
    const sinceMs = filter.since?.getTime();
    const needle = filter.text?.trim().toLowerCase() || undefined;
    const out: LogRecord[] = [];
    const routes = new Set<string>();
    let hiddenSandbox = 0;
    for (let i = 1; i <= this.count; i++) {
      const rec = this.items[(this.next - i + this.capacity) % this.capacity];
      if (!rec) continue;
      if (typeof rec.route === 'string') routes.add(rec.route);
      if (out.length >= limit) continue;
      if ((LEVELS[rec.level] ?? 30) < min) continue;
      if (sinceMs !== undefined && Date.parse(rec.time) <= sinceMs) continue;
      if (filter.route !== undefined && rec.route !== filter.route) continue;
      if (filter.conversationId !== undefined && !aboutConversation(rec, filter.conversationId)) continue;
      if (needle !== undefined && !JSON.stringify(rec).toLowerCase().includes(needle)) continue;
      if (!filter.sandbox && isSandboxRecord(rec)) {
        hiddenSandbox++;
        continue;
      }
      out.push(rec);
    }
    return { records: out.reverse(), routes: [...routes].sort(), hiddenSandbox };
  }
}

/** What `LogRing.query` selects; every field narrows. */
export interface LogFilter {
  readonly limit?: number;
  readonly minLevel?: string;
  readonly since?: Date;
  /** Case-insensitive text anywhere in the record (message or any field). */
  readonly text?: string;
  /** Request lines of this route template only (e.g. `/admin/sessions/:id`). */
  readonly route?: string;
  /** Records about this conversation (`conversationId`, or `conversationIds` containing it). */
  readonly conversationId?: number;
  /** Include the sandbox fakes' own requests (`/sandbox/...`); hidden when false or absent. */
  readonly sandbox?: boolean;
}

/** `LogRing.query`'s answer. */
export interface LogQueryResult {
  readonly records: LogRecord[];
  /** Route templates of the request lines in the buffer, sorted. */
  readonly routes: string[];
  /** Records matching everything else that were hidden for being the sandbox's own calls. */
  readonly hiddenSandbox: number;
}

/**
 * True for the sandbox's own traffic: requests to the fake platform and LLM APIs WADI serves
 * itself in sandbox mode (its outbound calls looping back), not what a user or operator did.
 */
export function isSandboxRecord(rec: LogRecord): boolean {
  const path = typeof rec.route === 'string' && rec.route !== 'unknown' ? rec.route : rec.url;
  return typeof path === 'string' && path.startsWith('/sandbox/');
}

function aboutConversation(rec: LogRecord, id: number): boolean {
  if (Number(rec.conversationId) === id) return true;
  return Array.isArray(rec.conversationIds) && rec.conversationIds.some((c) => Number(c) === id);
}

function levelName(n: number): string {
  for (const [name, v] of Object.entries(LEVELS)) if (v === n) return name;
  return 'info';
}
