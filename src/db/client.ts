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
    close: () => pool.end(),
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
    async close() {
      try {
        await client.close();
      } finally {
        lock?.release();
      }
    },
  };
}
