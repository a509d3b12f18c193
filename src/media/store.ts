/**
 * What was understood of a message is stored with it (`inbox_messages.media`) as soon as it is
 * known, outside the turn's final transaction and fenced by the turn's lease: a turn that crashes
 * or waits for the LLM afterwards finds it on the next attempt and does not download or
 * transcribe again. Only text and facts are stored, never the file or its base64.
 */
import type { Queryable } from '../db/client.ts';
import type { MediaKind, MediaOutcome, Understood } from './service.ts';

/** The stored form (inbox_messages.media). */
export interface StoredUnderstanding {
  readonly kind: MediaKind;
  readonly outcome: MediaOutcome;
  readonly text?: string;
  readonly bytes?: number;
  readonly mimeType?: string;
  readonly fileName?: string;
  readonly truncated?: boolean;
  readonly limit?: number;
  readonly at: string;
}

/** PostgreSQL's jsonb refuses NUL and lone surrogates: drop them from user-derived strings. */
function storable(s: string | undefined): string | undefined {
  return s
    ?.replace(/\u0000/g, '')
    .replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
}

/** The storable part of an understanding (the image data URL is dropped). */
export function toStored(u: Understood): StoredUnderstanding {
  const { imageUrl: _image, ...rest } = u;
  return { ...rest, text: storable(u.text), fileName: storable(u.fileName), at: new Date().toISOString() };
}

/** Stores it once, while the turn still holds the message; false if the lease was lost. */
export async function saveUnderstanding(
  db: Queryable,
  inboxId: number,
  leaseToken: string,
  u: Understood,
): Promise<boolean> {
  const { rows } = await db.query(
    `update inbox_messages set media = coalesce(media, $3::jsonb) where id = $1 and lease_owner = $2 returning id`,
    [inboxId, leaseToken, JSON.stringify(toStored(u))],
  );
  return rows.length > 0;
}
