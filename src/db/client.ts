/**
 * The database port and its two adapters: PostgreSQL (node-postgres pool) when DATABASE_URL is set,
 * PGlite (PostgreSQL in WASM, in-process) otherwise. Everything above this file sees one interface:
 * a Drizzle instance for typed queries and a small raw-SQL surface for the queue hot paths.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import pg from 'pg';
import { backoffDelay, QUERY_FAILURE_BACKOFF } from '../kernel/backoff.ts';
import { DataDirLock } from './data-dir-lock.ts';
import { DatabaseOpenError } from './errors.ts';
import * as schema from './schema.ts';

export { DatabaseOpenError } from './errors.ts';

// BIGINT (int8) columns come back as JS numbers: every id we use stays far below 2^53.
pg.types.setTypeParser(20, (v) => Number.parseInt(v, 10));

/** Drizzle over either backend. */
export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;

/** Anything that runs a parameterised SQL statement: a pool, a client, a transaction. */
export interface Queryable {
  query<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<{ rows: T[] }>;
}

/** A session-level advisory lock held on a dedicated connection until released or lost. */
export interface HeldLock {
  release(): Promise<void>;
  /** Resolves if the connection holding the lock dies (leadership is then lost). */
  readonly lost: Promise<void>;
}

/**
 * A subscription to database notifications (LISTEN/NOTIFY): the work queues' wake-up signal.
 * `listening` is false while the notification connection is down (it reconnects by itself), so
 * the subscriber can fall back to polling; `onState(true)` after a reconnect means notifications
 * may have been missed meanwhile.
 */
export interface Subscription {
  readonly listening: boolean;
  close(): Promise<void>;
}

/** What a subscriber is told. */
export interface SubscriptionHandlers {
  readonly onNotify: (channel: string) => void;
  readonly onState?: (listening: boolean) => void;
}

/** The database as the rest of WADI sees it. */
export interface Database extends Queryable {
  readonly kind: 'postgres' | 'pglite';
  readonly db: Db;
  /** Runs `fn` in one transaction; commits when it resolves, rolls back when it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** One round trip; resolves with its latency in ms or rejects after `timeoutMs`. */
  ping(timeoutMs: number): Promise<number>;
  /** Runs `fn` while holding advisory lock `key` (waits for it). */
  withAdvisoryLock<T>(key: number, fn: () => Promise<T>): Promise<T>;
  /** Takes advisory lock `key` if free; null if another session holds it. */
  tryAdvisoryLock(key: number): Promise<HeldLock | null>;
  /**
   * LISTENs on `channels` (plain lower-case identifiers) on a connection of its own (PostgreSQL)
   * or on the one in-process session (PGlite), until closed.
   */
  listen(channels: readonly string[], handlers: SubscriptionHandlers): Subscription;
  close(): Promise<void>;
}

/** Where and how to connect. */
export interface DatabaseOptions {
  readonly url?: string;
  /** PGlite data dir, or `memory://` for an in-memory database (tests). */
  readonly dataDir?: string;
  readonly poolSize?: number;
  readonly applicationName?: string;
  readonly onError?: (err: Error) => void;
}

/** Opens PostgreSQL when `url` is given, else PGlite in `dataDir`. */
export async function openDatabase(opts: DatabaseOptions): Promise<Database> {
  return opts.url ? openPostgres(opts.url, opts) : openPglite(opts.dataDir ?? './data', opts);
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

async function openPostgres(url: string, opts: DatabaseOptions): Promise<Database> {
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.poolSize ?? 10,
    connectionTimeoutMillis: 5000,
    idleTimeoutMillis: 30_000,
    application_name: opts.applicationName ?? 'wadi',
  });
  // An idle client losing its connection (database restart) must not crash the process.
  pool.on('error', (err) => opts.onError?.(err));
  const db = drizzlePg(pool, { schema }) as unknown as Db;
  return {
    kind: 'postgres',
    db,
    query: (text, params) => pool.query(text, params as unknown[]) as never,
    async transaction(fn) {
      const client = await pool.connect();
      // A checked-out client whose connection dies between queries emits 'error'; unhandled, that
      // would crash the process (the pool only listens on idle clients). The failed query reports it.
      let broken = false;
      const onError = (err: Error) => {
        broken = true;
        opts.onError?.(err);
      };
      client.on('error', onError);
      try {
        await client.query('BEGIN');
        const result = await fn(client as unknown as Queryable);
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {
          broken = true;
        });
        throw err;
      } finally {
        client.off('error', onError);
        // A broken connection is destroyed instead of going back to the pool.
        client.release(broken);
      }
    },
    async ping(timeoutMs) {
      const start = performance.now();
      await withTimeout(pool.query('select 1'), timeoutMs, 'database ping');
      return performance.now() - start;
    },
    async withAdvisoryLock(key, fn) {
      const client = await pool.connect();
      const onError = (err: Error) => opts.onError?.(err);
      client.on('error', onError);
      try {
        await client.query('select pg_advisory_lock($1)', [key]);
        try {
          return await fn();
        } finally {
          await client.query('select pg_advisory_unlock($1)', [key]).catch(() => {});
        }
      } finally {
        client.off('error', onError);
        client.release();
      }
    },
    async tryAdvisoryLock(key) {
      // A dedicated connection outside the pool: the lock lives exactly as long as it does.
      const client = new pg.Client({
        connectionString: url,
        application_name: `${opts.applicationName ?? 'wadi'}-lock`,
      });
      let markLost: () => void = () => {};
      const lost = new Promise<void>((resolve) => {
        markLost = resolve;
      });
      client.on('error', () => markLost());
      client.on('end', () => markLost());
      await client.connect();
      const { rows } = await client.query<{ ok: boolean }>('select pg_try_advisory_lock($1) as ok', [key]);
      if (!rows[0]?.ok) {
        await client.end().catch(() => {});
        return null;
      }
      return {
        lost,
        async release() {
          await client.query('select pg_advisory_unlock($1)', [key]).catch(() => {});
          await client.end().catch(() => {});
        },
      };
    },
    listen: (channels, handlers) => listenPostgres(url, opts, channels, handlers),
    close: () => pool.end(),
  };
}

function checkChannels(channels: readonly string[]): void {
  for (const c of channels) if (!/^[a-z_][a-z0-9_]{0,62}$/.test(c)) throw new Error(`invalid channel name: ${c}`);
}

/** A dedicated connection that LISTENs, reconnecting with backoff while the database is away. */
function listenPostgres(
  url: string,
  opts: DatabaseOptions,
  channels: readonly string[],
  handlers: SubscriptionHandlers,
): Subscription {
  checkChannels(channels);
  let closed = false;
  let listening = false;
  let failures = 0;
  let client: pg.Client | undefined;
  let retry: NodeJS.Timeout | undefined;
  const setState = (v: boolean) => {
    if (listening === v) return;
    listening = v;
    handlers.onState?.(v);
  };
  const connect = async () => {
    retry = undefined;
    if (closed) return;
    const c = new pg.Client({ connectionString: url, application_name: `${opts.applicationName ?? 'wadi'}-listen` });
    client = c;
    let dropped = false;
    const drop = () => {
      if (dropped) return;
      dropped = true;
      setState(false);
      c.end().catch(() => {});
      if (closed) return;
      failures++;
      retry = setTimeout(() => void connect(), backoffDelay(QUERY_FAILURE_BACKOFF, failures));
      retry.unref();
    };
    c.on('error', (err) => {
      opts.onError?.(err);
      drop();
    });
    c.on('end', drop);
    c.on('notification', (n) => handlers.onNotify(n.channel));
    try {
      await c.connect();
      await c.query(channels.map((ch) => `LISTEN ${ch}`).join('; '));
    } catch {
      drop();
      return;
    }
    if (closed || dropped) {
      if (!dropped) c.end().catch(() => {});
      return;
    }
    failures = 0;
    setState(true);
  };
  void connect();
  return {
    get listening() {
      return listening;
    },
    async close() {
      closed = true;
      clearTimeout(retry);
      listening = false;
      await client?.end().catch(() => {});
    },
  };
}

async function openPglite(dataDir: string, _opts: DatabaseOptions): Promise<Database> {
  const memory = dataDir.startsWith('memory://');
  let lock: DataDirLock | undefined;
  let dir = dataDir;
  if (!memory) {
    const abs = path.resolve(dataDir);
    mkdirSync(abs, { recursive: true });
    lock = DataDirLock.acquire(abs);
    dir = path.join(abs, 'pglite');
  }
  let client: PGlite;
  try {
    client = await PGlite.create(memory ? undefined : dir);
  } catch (err) {
    lock?.release();
    throw new DatabaseOpenError(`cannot open the embedded database in ${dir}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const db = drizzlePglite(client, { schema }) as unknown as Db;
  const locks = new Set<number>();
  return {
    kind: 'pglite',
    db,
    query: (text, params) => client.query(text, params) as never,
    transaction: (fn) => client.transaction((tx) => fn(tx as unknown as Queryable)),
    async ping(timeoutMs) {
      const start = performance.now();
      await withTimeout(client.query('select 1'), timeoutMs, 'database ping');
      return performance.now() - start;
    },
    // PGlite is one connection owned by one process (enforced by the data-dir lock), so a lock
    // only has to exclude callers inside this process.
    async withAdvisoryLock(_key, fn) {
      return fn();
    },
    async tryAdvisoryLock(key) {
      if (locks.has(key)) return null;
      locks.add(key);
      return { lost: new Promise<void>(() => {}), release: async () => void locks.delete(key) };
    },
    listen(channels, handlers) {
      // One session owns the database: its own NOTIFYs (the queue triggers) are delivered to it.
      checkChannels(channels);
      let closed = false;
      const offs = channels.map((ch) =>
        client.listen(ch, () => {
          if (!closed) handlers.onNotify(ch);
        }),
      );
      return {
        listening: true,
        async close() {
          closed = true;
          for (const off of await Promise.allSettled(offs)) {
            if (off.status === 'fulfilled') await off.value().catch(() => {});
          }
        },
      };
    },
    async close() {
      try {
        await client.close();
      } finally {
        lock?.release();
      }
    },
  };
}
