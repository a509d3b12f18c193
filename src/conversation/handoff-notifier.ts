/**
 * Tells on-call that a user is waiting for a person, through the alert destinations (Telegram
 * chat, Slack webhook), with a link to the conversation in the dashboard. Durable and at least
 * once: the request is a column on the conversation (`handoff_notify_at`, set in the transaction
 * that records the handoff), each attempt claims it with a lease first, and a failed or
 * interrupted attempt is due again with backoff. Any replica may run it (SKIP LOCKED claims).
 */
import type { Logger } from 'pino';
import type { Database } from '../db/client.ts';
import { claimDueHandoffs, type DueHandoff, handoffNotified, handoffNotifyFailed } from '../db/conversation-states.ts';

/** Where on-call hears about handoffs: the alert notifiers' plain-text side. */
export interface OnCallChannel {
  readonly name: string;
  /** Resolves once the receiver accepted the text; throws otherwise (no secrets in the error). */
  sendText(text: string): Promise<void>;
}

/** Settings of the notifier. */
export interface HandoffNotifierOptions {
  readonly database: Database;
  readonly channels: readonly OnCallChannel[];
  readonly logger: Logger;
  /** The dashboard's public base URL (PUBLIC_URL, else this process's URL), resolved per message. */
  readonly dashboardBase: () => string;
  /** How often due notifications are looked for (default 2 s; `wake()` looks at once). */
  readonly pollMs?: number;
}

const LEASE_MS = 60_000;
const FIRST_RETRY_MS = 10_000;
const MAX_RETRY_MS = 600_000;

/** The link to a conversation in the dashboard. */
export function conversationLink(base: string, conversationId: number): string {
  return `${base.replace(/\/+$/, '')}/admin/ui/conversations/${conversationId}`;
}

const TRIGGERS: Record<string, string> = {
  command: 'sent /human',
  keyword: 'asked for a person',
  tool: 'was handed over by the assistant',
  operator: 'was taken over by an operator',
};

/** The text on-call receives (English, like every alert). */
export function handoffText(h: DueHandoff, link: string): string {
  const who = h.display_name?.trim() ? h.display_name.trim() : `${h.channel} user`;
  const at = new Date(h.handoff_requested_at).toISOString().slice(0, 16).replace('T', ' ');
  const channel = h.channel === 'whatsapp' ? 'WhatsApp' : h.channel === 'telegram' ? 'Telegram' : h.channel;
  const reason = h.handoff_reason?.replace(/\s+/g, ' ').trim();
  return [
    `🙋 A person is needed: ${who} on ${channel} ${TRIGGERS[h.handoff_trigger ?? ''] ?? 'asked for a person'} (${at} UTC).`,
    ...(reason ? [`The assistant's reason: ${reason}`] : []),
    'The bot stays silent in this conversation until someone replies or resumes it.',
    `Open the conversation: ${link}`,
  ].join('\n');
}

/** The background service. */
export class HandoffNotifier {
  readonly name = 'handoff-notifier';
  private readonly o: HandoffNotifierOptions;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = true;

  constructor(opts: HandoffNotifierOptions) {
    this.o = opts;
  }

  start(): void {
    if (this.o.channels.length === 0) return;
    this.stopped = false;
    this.timer = setInterval(() => this.wake(), this.o.pollMs ?? 2000);
    this.timer.unref();
    this.wake();
  }

  /** Looks for due notifications now (after a handoff was recorded in this process). */
  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.run().finally(() => {
      this.running = undefined;
      if (this.again && !this.stopped) {
        this.again = false;
        this.wake();
      }
    });
  }

  /** Sends every due notification once; never throws. */
  async run(): Promise<void> {
    let due: DueHandoff[];
    try {
      due = await claimDueHandoffs(this.o.database, 20, LEASE_MS);
    } catch (err) {
      this.o.logger.warn({ err: (err as Error).message }, 'handoff notifications: claim failed');
      return;
    }
    for (const h of due) await this.notify(h);
  }

  private async notify(h: DueHandoff): Promise<void> {
    const text = handoffText(h, conversationLink(this.o.dashboardBase(), h.id));
    const results = await Promise.allSettled(this.o.channels.map((c) => c.sendText(text)));
    const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [[this.o.channels[i].name, r.reason]] : []));
    try {
      // One destination that took it is enough: on-call has been told.
      if (failed.length < results.length) {
        await handoffNotified(this.o.database, h.id);
        this.o.logger.info(
          { conversationId: h.id, notifiers: this.o.channels.map((c) => c.name), failed: failed.map((f) => f[0]) },
          'on-call told about a handoff',
        );
      } else {
        const retryMs = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** Math.max(0, h.handoff_notify_attempts - 1));
        await handoffNotifyFailed(this.o.database, h.id, retryMs);
        this.o.logger.warn(
          {
            conversationId: h.id,
            attempt: h.handoff_notify_attempts,
            retryMs,
            errors: failed.map(([name, err]) => `${name}: ${(err as Error)?.message ?? String(err)}`),
          },
          'handoff notification failed; will retry',
        );
      }
    } catch (err) {
      // The lease makes it due again.
      this.o.logger.warn({ conversationId: h.id, err: (err as Error).message }, 'handoff notification not recorded');
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.running;
  }
}
