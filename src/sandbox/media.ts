/**
 * The sandbox's media store, shared by the fake Graph API and the fake Bot API:
 * `POST /sandbox/media?mime_type=…&filename=…&url_ttl_ms=…` with the raw bytes as the body answers
 * an id that works as a WhatsApp media id and as a Telegram file_id. `DELETE /sandbox/media/:id`
 * forgets one (an id that expired on the platform). Bounded: the oldest items are evicted past
 * 200 items or 256 MB.
 */
import { createHash, randomInt } from 'node:crypto';
import { Readable } from 'node:stream';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { errors } from '../http/errors.ts';
import type { SandboxState } from './state.ts';

/** One stored file. */
export interface StoredMedia {
  readonly id: string;
  readonly bytes: Buffer;
  readonly mimeType: string;
  readonly fileName?: string;
  readonly sha256: string;
  /** How long a WhatsApp download URL stays valid, ms (Meta: about 5 minutes). */
  readonly urlTtlMs: number;
  /** Tests: the digest the Graph API announces instead of the real one. */
  readonly announcedSha256?: string;
  /** Tests: announce no size and send no Content-Length (a streamed body of unknown length). */
  readonly hideSize?: boolean;
}

const MAX_ITEMS = 200;
const MAX_TOTAL = 256 * 1024 * 1024;
/** Largest upload the fake takes. */
export const MAX_UPLOAD = 64 * 1024 * 1024;

/** Media by id. */
export class MediaStore {
  private readonly items = new Map<string, StoredMedia>();
  private total = 0;

  put(
    bytes: Buffer,
    opts: { mimeType: string; fileName?: string; urlTtlMs?: number; announcedSha256?: string; hideSize?: boolean },
  ): StoredMedia {
    // Numeric like Meta's media ids; Telegram's file_ids are opaque strings, so digits do too.
    let id = '';
    do id = `${randomInt(1, 10)}${Array.from({ length: 15 }, () => randomInt(0, 10)).join('')}`;
    while (this.items.has(id));
    const item: StoredMedia = {
      id,
      bytes,
      mimeType: opts.mimeType,
      fileName: opts.fileName,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      urlTtlMs: opts.urlTtlMs ?? 5 * 60_000,
      announcedSha256: opts.announcedSha256,
      hideSize: opts.hideSize,
    };
    this.items.set(id, item);
    this.total += bytes.length;
    while (this.items.size > MAX_ITEMS || this.total > MAX_TOTAL) {
      const oldest = this.items.keys().next().value as string;
      this.delete(oldest);
    }
    return item;
  }

  get(id: string): StoredMedia | undefined {
    return this.items.get(id);
  }

  delete(id: string): boolean {
    const item = this.items.get(id);
    if (!item) return false;
    this.items.delete(id);
    this.total -= item.bytes.length;
    return true;
  }
}

const stores = new WeakMap<SandboxState, MediaStore>();

/** The media store of a sandbox. */
export function mediaStore(state: SandboxState): MediaStore {
  let s = stores.get(state);
  if (!s) {
    s = new MediaStore();
    stores.set(state, s);
  }
  return s;
}

/** Upload and delete routes. */
export function mediaFake(state: SandboxState): FastifyPluginAsync {
  const store = mediaStore(state);
  return async (app) => {
    await app.register(async (scope) => {
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: MAX_UPLOAD }, (_req, body, done) =>
        done(null, body),
      );
      scope.post('/sandbox/media', async (req, reply) => {
        const q = req.query as {
          mime_type?: string;
          filename?: string;
          url_ttl_ms?: string;
          announce_sha256?: string;
          hide_size?: string;
        };
        const body = req.body;
        if (!Buffer.isBuffer(body) || body.length === 0) throw errors.badRequest('the body must be the file bytes');
        const mimeType = (q.mime_type ?? req.headers['content-type'] ?? 'application/octet-stream').trim();
        if (!/^[\w.+-]+\/[\w.+-]+(;.*)?$/.test(mimeType) || mimeType.length > 200) {
          throw errors.badRequest('mime_type must look like type/subtype');
        }
        const ttl = q.url_ttl_ms === undefined ? undefined : Number(q.url_ttl_ms);
        if (ttl !== undefined && (!Number.isInteger(ttl) || ttl < 0 || ttl > 86_400_000)) {
          throw errors.badRequest('url_ttl_ms must be an integer between 0 and 86400000');
        }
        const fileName = q.filename?.slice(0, 255);
        const item = store.put(body, {
          mimeType,
          fileName,
          urlTtlMs: ttl,
          announcedSha256: q.announce_sha256?.slice(0, 128),
          hideSize: q.hide_size === '1' || q.hide_size === 'true',
        });
        reply.status(201);
        return { id: item.id, sha256: item.sha256, file_size: item.bytes.length, mime_type: item.mimeType };
      });
      scope.delete('/sandbox/media/:id', async (req) => {
        const { id } = req.params as { id: string };
        return { deleted: store.delete(id) };
      });
    });
  };
}

/** Streams a stored file in 64 KiB chunks; `onDone` learns how many bytes were handed to the socket. */
export function sendMedia(
  reply: FastifyReply,
  item: StoredMedia,
  onDone: (bytesSent: number, complete: boolean) => void,
): FastifyReply {
  let sent = 0;
  const chunk = 64 * 1024;
  const bytes = item.bytes;
  const stream = Readable.from(
    (function* () {
      for (let i = 0; i < bytes.length; i += chunk) {
        const part = bytes.subarray(i, Math.min(bytes.length, i + chunk));
        sent += part.length;
        yield part;
      }
    })(),
    { objectMode: false, highWaterMark: chunk },
  );
  reply.raw.once('close', () => onDone(sent, sent === bytes.length && reply.raw.writableFinished));
  reply.header('content-type', item.mimeType);
  if (!item.hideSize) reply.header('content-length', String(bytes.length));
  return reply.send(stream);
}
