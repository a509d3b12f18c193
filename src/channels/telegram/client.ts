/**
 * The Bot API client WADI uses: grammY's `Api`, built lazily because in sandbox mode its root is
 * this process's own listening address (known only after listen). The token lives only inside
 * grammY's URL builder; nothing here logs a URL.
 */
import { Api } from 'grammy';
import type { Logger } from 'pino';
import type { BotIdentity } from './update-types.ts';

/** What the client needs to know. */
export interface TelegramClientOptions {
  readonly token: string;
  /** Bot API root without the trailing slash, or a function giving it (sandbox). */
  readonly apiRoot: string | (() => string);
  readonly logger: Logger;
  /** Per-request timeout for ordinary calls (long polls add their own timeout on top). */
  readonly timeoutSeconds?: number;
}

/** A lazily-built grammY Api plus the cached bot identity. */
export class TelegramClient {
  private api?: Api;
  private identity?: BotIdentity;
  private identityPending?: Promise<BotIdentity | undefined>;
  private retryAt = 0;
  private readonly opts: TelegramClientOptions;

  constructor(opts: TelegramClientOptions) {
    this.opts = opts;
  }

  /** The grammY Api (created on first use). */
  get(): Api {
    if (!this.api) {
      const root = typeof this.opts.apiRoot === 'function' ? this.opts.apiRoot() : this.opts.apiRoot;
      this.api = new Api(this.opts.token, {
        apiRoot: root.replace(/\/+$/, ''),
        timeoutSeconds: this.opts.timeoutSeconds ?? 75,
      });
    }
    return this.api;
  }

  /**
   * The bot's id and username from getMe, fetched once and cached. Undefined while the Bot API is
   * unreachable: ingest must not wait on it, so a failed or slow getMe (over 3 s) is not asked
   * again for 30 s, and meanwhile group messages are recorded without being answered.
   */
  async bot(): Promise<BotIdentity | undefined> {
    if (this.identity) return this.identity;
    if (Date.now() < this.retryAt) return undefined;
    this.identityPending ??= (async () => {
      let timer: NodeJS.Timeout | undefined;
      try {
        const me = await Promise.race([
          this.get().getMe(),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error('getMe timed out')), 3000);
          }),
        ]);
        this.identity = { id: me.id, username: me.username };
        this.opts.logger.info({ bot: me.username }, 'telegram bot identity loaded');
        return this.identity;
      } catch (err) {
        this.retryAt = Date.now() + 30_000;
        this.opts.logger.warn({ err: safeError(err) }, 'telegram getMe failed; group mentions unknown for now');
        return undefined;
      } finally {
        clearTimeout(timer);
      }
    })();
    const found = await this.identityPending;
    if (!found) this.identityPending = undefined;
    return found;
  }
}

/** An error reduced to fields that cannot contain the token (grammY's HttpError wraps the URL). */
export function safeError(err: unknown): { name: string; code?: number; description?: string } {
  const e = err as { name?: string; error_code?: number; description?: string };
  return { name: e?.name ?? 'Error', code: e?.error_code, description: e?.description };
}
