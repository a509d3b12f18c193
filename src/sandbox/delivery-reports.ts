/**
 * Delivery-status webhooks from the fake Graph API: after it accepts a send, it reports the
 * message sent, then delivered, then read, to the configured WhatsApp webhook, signed with the app
 * secret as Meta signs them (X-Hub-Signature-256 over the exact bytes, escaped-Unicode JSON). So
 * the outbox's delivered/read columns and the dashboard's statuses mean something in development.
 */
import { metaStringify } from '../channels/whatsapp/meta-json.ts';
import { type OutboundStatus, statusNotification } from '../channels/whatsapp/payload.ts';
import { signBody } from '../channels/whatsapp/signature.ts';
import type { BackgroundService } from '../kernel/service.ts';

/** Where the reports go, and how they are signed. */
export interface DeliveryReportTarget {
  /** The WhatsApp webhook URL (`…/webhooks/whatsapp`), read at send time. */
  readonly url: () => string;
  readonly appSecret: string;
}

/** After how long (ms, from the accepted send) each status is reported. */
export type DeliveryDelays = Readonly<Record<OutboundStatus, number>>;

/** Realistic-looking defaults, short enough for a person trying it out. */
export const DEFAULT_DELIVERY_DELAYS: DeliveryDelays = { sent: 200, delivered: 700, read: 2000 };

const ORDER: readonly OutboundStatus[] = ['sent', 'delivered', 'read'];
// A webhook that does not answer within this is given up on (Meta would retry; the sandbox does not).
const POST_TIMEOUT_MS = 10_000;

// Reports kept for readers (tests, the dashboard's sandbox views); older ones are dropped.
const KEEP_REPORTS = 1000;

/** Sends the reports of accepted sends; one per sandbox, stopped with the process. */
export class DeliveryReports implements BackgroundService {
  readonly name = 'sandbox-delivery-reports';
  private readonly target: DeliveryReportTarget;
  private stopped = false;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly onError: (status: OutboundStatus, err: string) => void;
  delays: DeliveryDelays;
  /** Off: accepted sends get no status webhooks (PUT /sandbox/whatsapp/delivery-statuses). */
  enabled = true;
  /** Reports posted and the webhook's answer (for tests and /sandbox/outbox readers). */
  readonly sent: { wamid: string; status: OutboundStatus; httpStatus: number }[] = [];

  constructor(opts: {
    target: DeliveryReportTarget;
    delays?: DeliveryDelays;
    onError?: (status: OutboundStatus, err: string) => void;
  }) {
    this.target = opts.target;
    this.delays = opts.delays ?? DEFAULT_DELIVERY_DELAYS;
    this.onError = opts.onError ?? (() => {});
  }

  /** Schedules sent → delivered → read for `wamid`, one after the other (never out of order). */
  schedule(phoneNumberId: string, wamid: string, recipient: string): void {
    if (!this.enabled || this.stopped) return;
    const run = async () => {
      let elapsed = 0;
      for (const status of ORDER) {
        const wait = Math.max(0, this.delays[status] - elapsed);
        elapsed = Math.max(elapsed, this.delays[status]);
        await new Promise<void>((resolve) => {
          const t = setTimeout(() => {
            this.timers.delete(t);
            resolve();
          }, wait);
          t.unref();
          this.timers.add(t);
        });
        if (this.stopped) return;
        await this.post(statusNotification({ phoneNumberId, wamid, recipient, status }), wamid, status);
      }
    };
    void run();
  }

  start(): void {
    this.stopped = false;
  }

  /** Cancels every report not yet sent. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  private async post(body: Record<string, unknown>, wamid: string, status: OutboundStatus): Promise<void> {
    const raw = metaStringify(body);
    try {
      const res = await fetch(this.target.url(), {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-hub-signature-256': signBody(raw, this.target.appSecret) },
        body: raw,
        signal: AbortSignal.timeout(POST_TIMEOUT_MS),
      });
      await res.arrayBuffer();
      this.sent.push({ wamid, status, httpStatus: res.status });
      if (this.sent.length > KEEP_REPORTS) this.sent.splice(0, this.sent.length - KEEP_REPORTS);
      if (res.status !== 200) this.onError(status, `webhook answered ${res.status}`);
    } catch (err) {
      this.onError(status, (err as Error).message);
    }
  }
}
