/**
 * Webhook outcomes over a sliding window, for HighErrorRate (events the database could not store)
 * and WebhookSignatureInvalid. It reads the `wadi_webhook_events_total` counter the webhook routes
 * already increment, once per alert evaluation (every 10 s), and keeps the cumulative totals it
 * saw: a window's count is the difference between now and the sample at the window's start. The
 * webhook path pays nothing extra for it.
 */
import { metrics } from '../../observability/metrics/metrics.ts';

/** What happened to webhook deliveries on one channel during a window. */
export interface WebhookWindowCounts {
  /** Events and statuses that passed the signature check (accepted, duplicate, ignored, unstorable). */
  readonly verified: number;
  /** Deliveries refused for a missing or wrong signature / secret token. */
  readonly invalidSignature: number;
  /** Events acknowledged but kept in unstorable_deliveries: the database refused them. */
  readonly unstorable: number;
}

/** Per channel ("whatsapp", "telegram"). */
export type WebhookWindow = Readonly<Record<string, WebhookWindowCounts>>;

type Totals = Map<string, number>;

interface Sample {
  readonly at: number;
  readonly totals: Totals;
}

/** One counter value, as prom-client's `get()` returns it. */
export interface CounterValue {
  readonly labels: Partial<Record<string, string | number>>;
  readonly value: number;
}

const VERIFIED = new Set(['accepted', 'duplicate', 'ignored', 'unstorable']);
// Samples older than the longest window anyone asks for are dropped.
const KEEP_MS = 3600_000;

/** Samples the webhook counter and answers windowed differences. */
export class WebhookCounterWindow {
  private readonly samples: Sample[] = [];
  private readonly read: () => Promise<readonly CounterValue[]>;

  constructor(read: () => Promise<readonly CounterValue[]> = async () => (await metrics.webhookEvents.get()).values) {
    this.read = read;
  }

  /**
   * Counts over the last `windowSeconds` before `now`. The first call only takes the baseline
   * (counts are zero): what happened before WADI started watching is not in any window.
   */
  async window(now: number, windowSeconds: number): Promise<WebhookWindow> {
    const totals = new Map<string, number>();
    for (const v of await this.read()) {
      const key = `${v.labels.channel ?? ''}\u0000${v.labels.outcome ?? ''}`;
      totals.set(key, (totals.get(key) ?? 0) + v.value);
    }
    const last = this.samples.at(-1);
    if (!last || last.at < now) this.samples.push({ at: now, totals });
    while (this.samples.length > 1 && this.samples[0].at < now - KEEP_MS) this.samples.shift();
    const start = now - windowSeconds * 1000;
    // The newest sample taken at or before the window's start; the oldest one when the window is longer.
    let base = this.samples[0];
    for (const s of this.samples) {
      if (s.at > start) break;
      base = s;
    }
    const out: Record<string, { verified: number; invalidSignature: number; unstorable: number }> = {};
    for (const [key, value] of totals) {
      const [channel, outcome] = key.split('\u0000') as [string, string];
      const n = value - (base.totals.get(key) ?? 0);
      if (n <= 0) continue;
      out[channel] ??= { verified: 0, invalidSignature: 0, unstorable: 0 };
      const c = out[channel];
      if (VERIFIED.has(outcome)) c.verified += n;
      if (outcome === 'invalid_signature') c.invalidSignature += n;
      if (outcome === 'unstorable') c.unstorable += n;
    }
    return out;
  }
}
