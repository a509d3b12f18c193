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

  /** The newest `limit` records at or above `minLevel`, newer than `since`, newest last. */
  recent(opts: { limit?: number; minLevel?: string; since?: Date } = {}): LogRecord[] {
    const limit = Math.max(1, Math.min(opts.limit ?? 100, this.capacity));
    const min = LEVELS[opts.minLevel ?? 'trace'] ?? 10;
    const sinceMs = opts.since?.getTime();
    const out: LogRecord[] = [];
    for (let i = 1; i <= this.count && out.length < limit; i++) {
      const rec = this.items[(this.next - i + this.capacity) % this.capacity];
      if (!rec) continue;
      if ((LEVELS[rec.level] ?? 30) < min) continue;
      if (sinceMs !== undefined && Date.parse(rec.time) <= sinceMs) continue;
      out.push(rec);
    }
    return out.reverse();
  }
}

function levelName(n: number): string {
  for (const [name, v] of Object.entries(LEVELS)) if (v === n) return name;
  return 'info';
}
