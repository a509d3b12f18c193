/**
 * The media step of a turn: for each media message of the claimed batch, what was understood,
 * from `inbox_messages.media` when an earlier attempt stored it (no second download or
 * transcription), else from the MediaService, stored right away under the turn's lease. Images
 * for a vision model are fetched again on a retry (only their text is stored). Items run one after
 * the other, in the user's order; the process-wide download limiter bounds concurrency.
 */
import type { Logger } from 'pino';
import type { Database } from '../db/client.ts';
import type { ClaimedTurn } from '../inbox/claim.ts';
import { isMediaKind, type MediaService, type Understood } from './service.ts';
import { type StoredUnderstanding, saveUnderstanding } from './store.ts';

/** What the media step needs. */
export interface TurnMediaDeps {
  readonly database: Database;
  readonly media: MediaService;
  readonly logger: Logger;
}

/**
 * Understands the turn's media messages. Throws MediaError('unavailable') (the turn waits) or an
 * AbortError; everything else comes back as an outcome.
 */
export async function understandTurnMedia(
  deps: TurnMediaDeps,
  turn: ClaimedTurn,
  language: string,
  signal: AbortSignal,
): Promise<Map<number, Understood>> {
  const out = new Map<number, Understood>();
  // Only messages that carry something to fetch or describe (a hand-made event without its media
  // payload keeps the plain "not supported" answer).
  const items = turn.messages.filter(
    (m) =>
      m.event.answer &&
      isMediaKind(m.kind) &&
      (m.event.media !== undefined || m.event.location !== undefined || m.event.extra?.contacts !== undefined),
  );
  if (items.length === 0) return out;
  const { rows } = await deps.database.query<{ id: number | string; media: StoredUnderstanding }>(
    'select id, media from inbox_messages where id = any($1::bigint[]) and media is not null',
    [items.map((m) => m.id)],
  );
  const stored = new Map(rows.map((r) => [Number(r.id), r.media]));
  for (const m of items) {
    const s = stored.get(m.id);
    if (s && !(s.outcome === 'image' && deps.media.settings.vision)) {
      out.set(m.id, s);
      continue;
    }
    const u = await deps.media.understand(m.event, { language, signal });
    // An image understood before (a retry, or handed to the assistant after a handoff) whose file
    // cannot be fetched again (expired, gone) is read from its stored "[image] caption" rather than
    // answered with "send it again".
    out.set(m.id, s && u.outcome !== 'image' ? s : u);
    if (!s) {
      const kept = await saveUnderstanding(deps.database, m.id, turn.token, u);
      if (!kept) deps.logger.warn({ inboxId: m.id }, 'media understood after the lease was lost; not stored');
    }
  }
  return out;
}
