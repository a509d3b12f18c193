/**
 * The outbox dispatcher: claims queued reply parts (FOR UPDATE SKIP LOCKED + lease) and sends them
 * through the channel senders, at most one in flight per conversation and in queue order (a part
 * is claimable only when no earlier part of its conversation is still pending or sending). Every
 * outcome is recorded: sent (platform id), retried (backoff + jitter, honouring retry_after),
 * failed (reason). A crash between the send and its record leaves the lease to expire: that one
 * send may be repeated, nothing is lost.
 *
 * Outside WhatsApp's 24 h window (by the conversation's last inbound message, or because Meta
 * answered 131047) a message goes out as the template WHATSAPP_TEMPLATES_FILE maps its kind to
 * (config/templates.ts), or is recorded failed/window_closed when there is none. Proactive rows
 * (an operator's re-engagement template) are never sent to a user who opted out: failed/opted_out.
 */
import { randomBytes } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { PermanentSendError, RetryableSendError } from '../channels/errors.ts';
import type { ChannelName, ChannelSender } from '../channels/types.ts';
import { purposeOfKind, type TemplateBook, type TemplateSend, templateFor } from '../config/templates.ts';
import type { Database } from '../db/client.ts';
import { countMessageOut, markBlocked, moveConversationChat } from '../db/conversations.ts';
import { type BackoffPolicy, backoffDelay, QUERY_FAILURE_BACKOFF } from '../kernel/backoff.ts';
import { type Clock, systemClock } from '../kernel/clock.ts';
import { decisionTime } from '../kernel/decision-time.ts';
import type { BackgroundService } from '../kernel/service.ts';
import { SafetyPoll } from '../kernel/wake.ts';
import { metrics } from '../observability/metrics/metrics.ts';
import { applyPendingStatuses } from './statuses.ts';

/** WhatsApp's customer-service window: free-form replies only within 24 h of the user's last message. */
export const WHATSAPP_WINDOW_MS = 24 * 3600 * 1000;

/** Dispatcher settings. */
export interface DispatcherOptions {
  readonly database: Database;
  readonly logger: Logger;
  readonly senders: () => ReadonlyMap<ChannelName, ChannelSender>;
  readonly concurrency: number;
  readonly maxAttempts: number;
  readonly retryBaseMs: number;
  readonly leaseMs: number;
  /**
   * Safety-net poll (expired leases of crashed processes) while wake-up signals work — 'queued'
   * events and `wake()` on NOTIFY wadi_outbox, see setSignalled; the only poll without them.
   */
  readonly pollMs: number;
  /** Poll while signals are known not to work (default: min(pollMs, 500)). */
  readonly fallbackPollMs?: number;
  /** Emits 'queued' when a local turn queued replies. */
  readonly events?: EventEmitter;
  /** Called before the first send attempt of a conversation's part (stops its typing refresh). */
  readonly onSending?: (conversationId: number) => void;
  /**
   * Time of the window, lease and retry decisions. Default: the process clock for the window, the
   * database's clock for leases and retries (one clock for every process; see kernel/decision-time).
   */
  readonly clock?: Clock;
  /** WHATSAPP_TEMPLATES_FILE: templates standing in for messages once the 24 h window is closed. */
  readonly templates?: TemplateBook;
  /** Locale of the template language when the conversation has none (ASSISTANT_LOCALE). */
  readonly defaultLocale?: 'es' | 'en';
}

/** Retry policy of failed sends: OUTBOX_RETRY_BASE_MS doubling, ±25 % jitter, capped at 5 minutes. */
export function outboxRetryPolicy(baseMs: number): BackoffPolicy {
  return { baseMs, maxMs: 300_000, jitter: [0.75, 1.25] };
}

/** Whether WhatsApp's 24 h customer-service window is closed at `now` for a user last heard at `lastInboundAt`. */
export function whatsappWindowClosed(lastInboundAt: Date | null, now: number): boolean {
  return lastInboundAt !== null && now - new Date(lastInboundAt).getTime() > WHATSAPP_WINDOW_MS;
}

interface Row {
  id: number;
  channel: ChannelName;
  kind: string;
  opted_out_at: Date | null;
  display_name: string | null;
  locale: string | null;
  chat_id: string;
  conversation_id: number | null;
  inbox_id: number | null;
  part: number;
  body: string;
  options: Record<string, unknown>;
  attempts: number;
  last_inbound_at: Date | null;
  blocked: boolean | null;
  inbox_received_at: Date | null;
}

/** The service. */
export class OutboxDispatcher implements BackgroundService {
  readonly name = 'outbox-dispatcher';
  private readonly o: DispatcherOptions;
  private readonly owner = `${process.pid}-${randomBytes(4).toString('hex')}`;
  private running = false;
  private inFlight = 0;
  private loopDone: Promise<void> | undefined;
  private waiter: (() => void) | undefined;
  private signalled = false;
  private readonly poll: SafetyPoll;
  private readonly sends = new Set<Promise<void>>();
  private readonly onQueued = () => this.wake();
  private readonly clock: Clock;

  constructor(opts: DispatcherOptions) {
    this.o = opts;
    this.clock = opts.clock ?? systemClock;
    this.poll = new SafetyPoll(() => this.wake(), opts.pollMs, opts.fallbackPollMs ?? Math.min(opts.pollMs, 500));
  }

  /** Whether wake-up signals reach this dispatcher (slow poll); becoming signalled looks at once. */
  setSignalled(signalled: boolean): void {
    this.poll.setSignalled(signalled);
    if (signalled) this.wake();
  }

  /** Starts the claim loop. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.o.events?.on('queued', this.onQueued);
    this.poll.start();
    this.loopDone = this.loop();
  }

  /** Looks for work now. */
  wake(): void {
    // Remembered if the loop is busy claiming now: its claim may have missed the new work.
    this.signalled = true;
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  private async loop(): Promise<void> {
    let failures = 0;
    while (this.running) {
      const free = this.o.concurrency - this.inFlight;
      const channels = [...this.o.senders().keys()];
      let rows: Row[] = [];
      if (free > 0 && channels.length > 0) {
        try {
          rows = await this.claim(free, channels);
          failures = 0;
        } catch (err) {
          failures++;
          this.o.logger.warn({ err: (err as Error).message }, 'outbox claim failed');
          await new Promise((r) => setTimeout(r, backoffDelay(QUERY_FAILURE_BACKOFF, failures)));
          continue;
        }
      }
      for (const row of rows) {
        this.inFlight++;
        const p: Promise<void> = this.process(row)
          .catch((err) =>
            this.o.logger.error({ err, outboxId: row.id }, 'outbox outcome not recorded; lease will expire'),
          )
          .finally(() => {
            this.inFlight--;
            this.sends.delete(p);
            // A finished send may unblock the next part of its conversation.
            this.wake();
          });
        this.sends.add(p);
      }
      // stop() may have run while this loop was claiming: never wait once stopped.
      if (this.running && (rows.length === 0 || this.inFlight >= this.o.concurrency) && !this.takeSignal()) {
        await new Promise<void>((r) => {
          this.waiter = r;
        });
      }
    }
  }

  private takeSignal(): boolean {
    const s = this.signalled;
    this.signalled = false;
    return s;
  }

  private async claim(limit: number, channels: string[]): Promise<Row[]> {
    const { rows } = await this.o.database.query<Row>(
      `with c as (
         select o.id from outbox_messages o
         where (o.status = 'pending' or (o.status = 'sending' and o.lease_until < coalesce($5::timestamptz, now())))
           and o.available_at <= coalesce($5::timestamptz, now()) and o.channel = any($1::text[])
           and not exists (
             select 1 from outbox_messages p
             where p.conversation_id = o.conversation_id and p.id < o.id and p.status in ('pending', 'sending'))
         order by o.id limit $2
         for update of o skip locked
       ), upd as (
         update outbox_messages o set status = 'sending', lease_owner = $3, attempts = o.attempts + 1,
           lease_until = coalesce($5::timestamptz, now()) + make_interval(secs => $4::float8 / 1000)
         from c where o.id = c.id
         returning o.*
       )
       select upd.id, upd.channel, upd.kind, upd.chat_id, upd.conversation_id, upd.inbox_id, upd.part, upd.body,
              upd.options, upd.attempts, cv.last_inbound_at, cv.blocked, cv.opted_out_at, cv.display_name, cv.locale,
              i.received_at as inbox_received_at
       from upd left join conversations cv on cv.id = upd.conversation_id
       left join inbox_messages i on i.id = upd.inbox_id
       order by upd.id`,
      [channels, limit, this.owner, this.o.leaseMs, decisionTime(this.o.clock)],
    );
    return rows;
  }

  private async process(row: Row): Promise<void> {
    const sender = this.o.senders().get(row.channel);
    if (row.conversation_id !== null) this.o.onSending?.(row.conversation_id);
    if (row.blocked) return this.fail(row, 'blocked', undefined);
    // Someone who opted out gets nothing WADI or an operator sends on its own initiative.
    if (row.options.proactive === true && row.opted_out_at) return this.fail(row, 'opted_out', undefined);
    let template = row.options.template as TemplateSend | undefined;
    if (row.channel === 'whatsapp' && !template && whatsappWindowClosed(row.last_inbound_at, this.clock.now())) {
      // Free-form messages outside the 24 h window are refused by Meta: a template, or nothing.
      template = await this.standIn(row);
      if (!template) return this.fail(row, 'window_closed', undefined);
    }
    if (!sender) return this.retry(row, new RetryableSendError(`no sender for ${row.channel}`));
    for (;;) {
      try {
        const res = await sender.send({
          chatId: row.chat_id,
          text: row.body,
          replyTo: !template && typeof row.options.replyTo === 'string' ? row.options.replyTo : undefined,
          options: template ? { ...row.options, template } : row.options,
        });
        return await this.sent(row, res.platformMessageId, res.sentAsPlain?.text);
      } catch (err) {
        if (err instanceof PermanentSendError) {
          if (err.migrateToChatId) return this.migrate(row, err.migrateToChatId);
          // Meta says the window is closed although our record says open: the template, once.
          if (err.reason === 'window_closed' && !template && row.channel === 'whatsapp') {
            template = await this.standIn(row);
            if (template) continue;
          }
          return this.fail(row, err.reason, err);
        }
        return this.retry(row, err);
      }
    }
  }

  /**
   * The template standing in for a free-form row outside the window, recorded on the row so the
   * conversation view shows it; undefined when none is configured, or for the later parts of a
   * split reply (the first part's template stands for the whole reply).
   */
  private async standIn(row: Row): Promise<TemplateSend | undefined> {
    if (row.part > 0) return undefined;
    const locale = row.locale?.toLowerCase().startsWith('en')
      ? 'en'
      : row.locale?.toLowerCase().startsWith('es')
        ? 'es'
        : (this.o.defaultLocale ?? 'es');
    const template = templateFor(this.o.templates, purposeOfKind(row.kind), {
      text: row.body,
      name: row.display_name,
      locale,
    });
    if (!template) return undefined;
    await this.o.database.query(
      `update outbox_messages set options = options || jsonb_build_object('template', $2::jsonb) where id = $1`,
      [row.id, JSON.stringify(template)],
    );
    return template;
  }

  private async sent(row: Row, platformMessageId: string, sentAsPlain?: string): Promise<void> {
    // One round trip records the send; status webhooks that raced ahead of it are applied after.
    // A part the platform made the sender resend as plain text keeps that text (what the user saw).
    const { rows } = await this.o.database.query<{ conversation_id: number | null; early: boolean }>(
      `with o as (
         update outbox_messages set status = 'sent', platform_message_id = $2, sent_at = now(),
           lease_owner = null, lease_until = null, error_code = null, error_title = null, error_detail = null,
           options = case when $4::text is null then options
                          else options || jsonb_build_object('sent_as_plain', $4::text) end
         where id = $1 and status = 'sending' returning conversation_id
       )
       select (select conversation_id from o) as conversation_id, exists (select 1 from status_events
         where channel = $3 and platform_message_id = $2 and not applied) as early`,
      [row.id, platformMessageId, row.channel, sentAsPlain ?? null],
    );
    const conversationId = rows[0]?.conversation_id;
    if (conversationId !== null && conversationId !== undefined) await countMessageOut(this.o.database, conversationId);
    if (rows[0]?.early) await applyPendingStatuses(this.o.database, row.channel, platformMessageId);
    metrics.outboundMessages.inc({ channel: row.channel, outcome: 'sent' });
    this.o.logger.debug(
      { outboxId: row.id, conversationId: row.conversation_id, channel: row.channel, part: row.part, kind: row.kind },
      'reply part sent',
    );
    if (row.part === 0 && row.inbox_received_at) {
      metrics.replyLatency.observe(
        { channel: row.channel },
        Math.max(0, (this.clock.now() - new Date(row.inbox_received_at).getTime()) / 1000),
      );
    }
  }

  private async retry(row: Row, err: unknown): Promise<void> {
    const e = err instanceof RetryableSendError ? err : undefined;
    if (row.attempts >= this.o.maxAttempts) return this.fail(row, 'retries_exhausted', e);
    const delay = backoffDelay(outboxRetryPolicy(this.o.retryBaseMs), row.attempts, { retryAfterMs: e?.retryAfterMs });
    await this.o.database.query(
      `update outbox_messages set status = 'pending', lease_owner = null, lease_until = null,
         available_at = coalesce($6::timestamptz, now()) + make_interval(secs => $2::float8 / 1000),
         error_code = $3, error_title = $4, error_detail = $5
       where id = $1 and status = 'sending'`,
      [
        row.id,
        delay,
        e?.code ?? null,
        e?.title ?? null,
        (e?.detail ?? (err as Error)?.message ?? '').slice(0, 1000),
        decisionTime(this.o.clock),
      ],
    );
    metrics.outboundMessages.inc({ channel: row.channel, outcome: 'retried' });
    this.o.logger.warn(
      { outboxId: row.id, conversationId: row.conversation_id, attempt: row.attempts, delayMs: delay, code: e?.code },
      'send retried',
    );
    setTimeout(() => this.wake(), delay + 5).unref();
  }

  private async fail(
    row: Row,
    reason: string,
    err: PermanentSendError | RetryableSendError | undefined,
  ): Promise<void> {
    await this.o.database.transaction(async (tx) => {
      await tx.query(
        `update outbox_messages set status = 'failed', failure_reason = $2, failed_at = now(),
           lease_owner = null, lease_until = null, error_code = coalesce($3, error_code),
           error_title = coalesce($4, error_title), error_detail = coalesce($5, error_detail)
         where id = $1`,
        [row.id, reason, err?.code ?? null, err?.title ?? null, err?.detail ?? null],
      );
      if (reason === 'blocked' && row.conversation_id !== null) {
        // The user blocked the bot: stop writing, and fail what was still queued for them.
        await markBlocked(tx, row.conversation_id);
        await tx.query(
          `update outbox_messages set status = 'failed', failure_reason = 'blocked', failed_at = now()
           where conversation_id = $1 and status = 'pending'`,
          [row.conversation_id],
        );
      }
    });
    metrics.outboundMessages.inc({ channel: row.channel, outcome: 'failed' });
    this.o.logger.warn(
      { outboxId: row.id, conversationId: row.conversation_id, reason, code: err?.code },
      'send failed permanently',
    );
  }

  private async migrate(row: Row, newChatId: string): Promise<void> {
    await this.o.database.transaction(async (tx) => {
      if (row.conversation_id !== null) {
        // The chat moved (Telegram group → supergroup): follow it unless the new chat already has a conversation.
        await moveConversationChat(tx, row.conversation_id, row.channel, newChatId);
        await tx.query(`update outbox_messages set chat_id = $2 where conversation_id = $1 and status = 'pending'`, [
          row.conversation_id,
          newChatId,
        ]);
      }
      await tx.query(
        `update outbox_messages set status = 'pending', chat_id = $2, lease_owner = null, lease_until = null,
           available_at = coalesce($3::timestamptz, now()) where id = $1`,
        [row.id, newChatId, decisionTime(this.o.clock)],
      );
    });
    this.o.logger.info(
      { outboxId: row.id, conversationId: row.conversation_id },
      'chat migrated; resending to the new chat id',
    );
    this.wake();
  }

  /** Stops claiming and waits for the sends in flight to be recorded. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.o.events?.off('queued', this.onQueued);
    this.poll.stop();
    this.wake();
    await this.loopDone;
    await Promise.allSettled([...this.sends]);
  }
}
