/**
 * In-process request statistics for /admin/stats and the alert rules: RPS, p95 latency and error
 * rate over sliding windows. Requests land in fixed 10 s buckets kept in a ring covering one hour,
 * each with a small log-scale latency histogram, so memory is bounded (about 360 × 60 counters)
 * whatever the traffic, and a window is the sum of its buckets.
 */

/** RPS, p95 latency and error rate over one window. */
export interface WindowStats {
  readonly windowSeconds: number;
  readonly requests: number;
  readonly rps: number;
  readonly p95Ms: number | null;
  /** 4xx+5xx share of requests, 0..1, excluding probe and metrics routes. */
  readonly errorRate: number;
  /** Requests answered 5xx (what HighErrorRate counts; 4xx are the client's business). */
  readonly serverErrors: number;
}

/** In-process request statistics for /admin/stats and the alert rules (the port admin uses). */
export interface StatsProvider {
  /** Windows of 1, 5 and 15 minutes. */
  windows(): { '1m': WindowStats; '5m': WindowStats; '15m': WindowStats };
  /** Per-minute points for the last `minutes` minutes (charts). */
  series(minutes: number): { t: number; rps: number; p95Ms: number | null; errorRate: number }[];
}

/** Width of one bucket. */
export const BUCKET_MS = 10_000;
const HOUR_BUCKETS = 3600_000 / BUCKET_MS;
// Latency bins grow by 25 %: from 0.5 ms to ~2 min in 56 bins; p95 is reported as the bin's upper
// edge, so it is at most 25 % high, never low.
const BIN_BASE_MS = 0.5;
const BIN_FACTOR = 1.25;
const BINS = 56;
const LOG_FACTOR = Math.log(BIN_FACTOR);

interface Bucket {
  /** Bucket number (start / BUCKET_MS), or -1 while unused. */
  id: number;
  requests: number;
  errors: number;
  serverErrors: number;
  bins: Uint32Array;
}

function binOf(ms: number): number {
  if (ms <= BIN_BASE_MS) return 0;
  return Math.min(BINS - 1, Math.ceil(Math.log(ms / BIN_BASE_MS) / LOG_FACTOR));
}

function binUpperMs(bin: number): number {
  return BIN_BASE_MS * BIN_FACTOR ** bin;
}

/** Sliding-window request stats with an injectable clock. */
export class WindowedStats implements StatsProvider {
  private readonly ring: Bucket[];
  private readonly now: () => number;
  private readonly startedAt: number;

  constructor(opts: { now?: () => number } = {}) {
    this.now = opts.now ?? Date.now;
    this.startedAt = this.now();
    // One more than an hour so a full hour of closed buckets plus the current one fit.
    this.ring = Array.from({ length: HOUR_BUCKETS + 1 }, () => ({
      id: -1,
      requests: 0,
      errors: 0,
      serverErrors: 0,
      bins: new Uint32Array(BINS),
    }));
  }

  /** Records one answered request. */
  record(durationMs: number, statusCode: number): void {
    const id = Math.floor(this.now() / BUCKET_MS);
    const b = this.ring[id % this.ring.length];
    if (b.id !== id) {
      b.id = id;
      b.requests = 0;
      b.errors = 0;
      b.serverErrors = 0;
      b.bins.fill(0);
    }
    b.requests++;
    if (statusCode >= 400) {
      b.errors++;
      if (statusCode >= 500) b.serverErrors++;
    }
    b.bins[binOf(durationMs)]++;
  }

  /** Stats over the last `seconds` (at most one hour), the current partial bucket included. */
  window(seconds: number): WindowStats {
    const now = this.now();
    const secs = Math.min(Math.max(seconds, BUCKET_MS / 1000), 3600);
    // Whole buckets covering the window, plus the current partial one: nothing recent is dropped.
    const last = Math.floor(now / BUCKET_MS);
    const whole = Math.ceil((secs * 1000) / BUCKET_MS);
    const agg = this.sum(last - whole, last);
    const covered = (whole * BUCKET_MS + (now - last * BUCKET_MS)) / 1000;
    // A process younger than the window has not had the whole window to receive traffic.
    const elapsed = Math.max(1, Math.min(covered, (now - this.startedAt) / 1000));
    return {
      windowSeconds: secs,
      requests: agg.requests,
      rps: round(agg.requests / elapsed, 3),
      p95Ms: agg.p95Ms,
      errorRate: agg.requests === 0 ? 0 : round(agg.errors / agg.requests, 4),
      serverErrors: agg.serverErrors,
    };
  }

  /** Windows of 1, 5 and 15 minutes. */
  windows(): { '1m': WindowStats; '5m': WindowStats; '15m': WindowStats } {
    return { '1m': this.window(60), '5m': this.window(300), '15m': this.window(900) };
  }

  /** One point per whole minute for the last `minutes` minutes (at most 60), oldest first. */
  series(minutes: number): { t: number; rps: number; p95Ms: number | null; errorRate: number }[] {
    const n = Math.max(1, Math.min(60, Math.floor(minutes)));
    const perMinute = 60_000 / BUCKET_MS;
    const currentMinute = Math.floor(this.now() / 60_000);
    const out: { t: number; rps: number; p95Ms: number | null; errorRate: number }[] = [];
    for (let m = currentMinute - n + 1; m <= currentMinute; m++) {
      const first = m * perMinute;
      const agg = this.sum(first, first + perMinute - 1);
      out.push({
        t: m * 60_000,
        rps: round(agg.requests / 60, 3),
        p95Ms: agg.p95Ms,
        errorRate: agg.requests === 0 ? 0 : round(agg.errors / agg.requests, 4),
      });
    }
    return out;
  }

  private sum(
    first: number,
    last: number,
  ): { requests: number; errors: number; serverErrors: number; p95Ms: number | null } {
    const bins = new Uint32Array(BINS);
    let requests = 0;
    let errors = 0;
    let serverErrors = 0;
    const oldest = Math.floor(this.now() / BUCKET_MS) - HOUR_BUCKETS;
    for (let id = Math.max(first, oldest); id <= last; id++) {
      const b = this.ring[id % this.ring.length];
      if (b.id !== id) continue;
      requests += b.requests;
      errors += b.errors;
      serverErrors += b.serverErrors;
      for (let i = 0; i < BINS; i++) bins[i] += b.bins[i];
    }
    return { requests, errors, serverErrors, p95Ms: requests === 0 ? null : percentile(bins, requests, 0.95) };
  }
}

function percentile(bins: Uint32Array, total: number, q: number): number {
  const rank = Math.ceil(total * q);
  let seen = 0;
  for (let i = 0; i < BINS; i++) {
    seen += bins[i];
    if (seen >= rank) return round(binUpperMs(i), 1);
  }
  return round(binUpperMs(BINS - 1), 1);
}

function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}
