/**
 * The one path every Telegram update takes into WADI, shared by the webhook route and the long
 * poller: parse → store through the inbox writer (resolves after COMMIT) → follow chat migrations
 * → count. Callback queries are answered only after the commit, best effort.
 */
import type { Logger } from 'pino';
import type { Database } from '../../db/client.ts';
import { metrics } from '../../observability/metrics/metrics.ts';
import type { InboundEvent, InboundStore } from '../types.ts';
import { type ChatMigration, type GroupReply, parseUpdate } from './parse.ts';
import type { BotIdentity, TgUpdate } from './update-types.ts';

/** What ingesting a batch did. */
export interface IngestResult {
  readonly accepted: number;
  readonly duplicates: number;
  readonly ignored: number;
}

/** What ingest needs. */
export interface IngestDeps {
  readonly database: Database;
  writer(): InboundStore;
  bot(): Promise<BotIdentity | undefined>;
  readonly groupReply: GroupReply;
  readonly logger: Logger;
  /** Best effort, after the commit; failures are logged, never thrown. */
  answerCallback(id: string): Promise<void>;
}

/**
 * Stores `updates`; resolves once they are committed (throws if the database failed, in which
 * case nothing of this batch may be acknowledged).
 */
export async function ingestUpdates(
  updates: readonly TgUpdate[],
  deps: IngestDeps,
  /** The bytes as received (the webhook body), kept if the database cannot store them. */
  raw?: Uint8Array,
): Promise<IngestResult> {
  const bot = await deps.bot();
  const events: InboundEvent[] = [];
  const migrations: ChatMigration[] = [];
  /** Callback query ids by the index of their event. */
  const callbacks = new Map<number, string>();
  let ignored = 0;
  for (const u of updates) {
    const p = parseUpdate(u, { bot, groupReply: deps.groupReply });
    if (p.ignored) {
      ignored++;
      deps.logger.debug({ updateId: p.updateId, reason: p.ignored }, 'telegram update ignored');
    }
    if (p.event && p.callbackQueryId) callbacks.set(events.length, p.callbackQueryId);
    if (p.event) events.push(p.event);
    if (p.migration) migrations.push(p.migration);
  }
  // Migrations first: the service message is stored under the new chat id and must land on the
  // moved conversation. Both steps are idempotent, so a failure between them heals on redelivery.
  for (const m of migrations) await followMigration(deps.writer(), m, deps.logger);
  const r = await deps.writer().accept(events, [], undefined, {
    channel: 'telegram',
    raw: raw ?? Buffer.from(JSON.stringify(updates)),
  });

  if (r.accepted) metrics.webhookEvents.inc({ channel: 'telegram', outcome: 'accepted' }, r.accepted);
  if (r.duplicates) metrics.webhookEvents.inc({ channel: 'telegram', outcome: 'duplicate' }, r.duplicates);
  if (ignored) metrics.webhookEvents.inc({ channel: 'telegram', outcome: 'ignored' }, ignored);
  if (r.unstorable) {
    metrics.webhookEvents.inc({ channel: 'telegram', outcome: 'unstorable' }, r.unstorable);
    deps.logger.error(
      { deadLetterId: r.deadLetterId, items: r.unstorable },
      'telegram update the database cannot store; kept in unstorable_deliveries',
    );
  }
  // Telegram shows a spinner on the button until answered. Only a newly stored press is answered:
  // a redelivery was answered the first time, and answering again would act on it twice.
  for (const [i, id] of callbacks) if (r.fresh[i]) void deps.answerCallback(id);
  return { accepted: r.accepted, duplicates: r.duplicates, ignored };
}

/** Moves the group's conversation to its new (supergroup) chat id, idempotently. */
export async function followMigration(writer: InboundStore, m: ChatMigration, logger: Logger): Promise<void> {
  const moved = await writer.followGroupMigration(m.fromChatId, m.toChatId);
  logger.info({ moved }, 'telegram group upgraded to a supergroup; conversation follows');
}
