/**
 * Test databases: a fresh PostgreSQL database per call on TEST_DATABASE_URL (dropped afterwards),
 * or an in-memory PGlite when no server is configured. With WADI_TEST_REQUIRE_SERVICES=1 a
 * missing server fails the run instead of silently falling back.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { type Database, openDatabase } from '../../src/db/client.ts';
import { migrate } from '../../src/db/migrate.ts';

export type Backend = 'pglite' | 'postgres';

/** A database for one test (or file), with its URL when it is PostgreSQL. */
export interface TestDb {
  readonly database: Database;
  readonly backend: Backend;
  /** PostgreSQL URL of this database (undefined on PGlite). */
  readonly url?: string;
  /** Closes and drops it. */
  drop(): Promise<void>;
}

/** TEST_DATABASE_URL, or throws when services are required and it is missing. */
export function postgresUrl(): string | undefined {
  const url = process.env.TEST_DATABASE_URL;
  if (!url && process.env.WADI_TEST_REQUIRE_SERVICES === '1') {
    throw new Error('WADI_TEST_REQUIRE_SERVICES=1 but TEST_DATABASE_URL is not set');
  }
  return url;
}

/** The backends a conformance suite should run against. */
export function backends(): Backend[] {
  return postgresUrl() ? ['pglite', 'postgres'] : ['pglite'];
}

/** The default backend for integration tests: PostgreSQL when available. */
export function defaultBackend(): Backend {
  return postgresUrl() ? 'postgres' : 'pglite';
}

/** Closers of the pools tests opened on a test database, by database name: run before it is dropped. */
const poolsByDatabase = new Map<string, Set<() => Promise<void>>>();

/**
 * Registers `close` to run before the test database `url` names is dropped: `DROP DATABASE …
 * WITH (FORCE)` would otherwise terminate the pool's idle connections (57P01) under it.
 * Returns a function that unregisters it (after closing the pool yourself).
 */
export function closeBeforeDrop(url: string, close: () => Promise<void>): () => void {
  const name = new URL(url).pathname.slice(1);
  const set = poolsByDatabase.get(name) ?? new Set();
  poolsByDatabase.set(name, set);
  set.add(close);
  return () => set.delete(close);
}

/** The error PostgreSQL sends a connection it closes on purpose (pg_terminate_backend, FORCE). */
export function isAdminShutdown(err: unknown): boolean {
  return (err as { code?: string } | null)?.code === '57P01';
}

/** Creates an empty PostgreSQL database and returns its URL (no migrations). */
export async function createPostgresDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const base = postgresUrl();
  if (!base) throw new Error('TEST_DATABASE_URL is not set');
  const name = `wadi_t_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const u = new URL(base);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    async drop() {
      // Every pool a test opened on it first, so FORCE terminates nothing a test still holds.
      const closers = [...(poolsByDatabase.get(name) ?? [])];
      poolsByDatabase.delete(name);
      await Promise.all(closers.map((close) => close().catch(() => {})));
      const c = new pg.Client({ connectionString: base });
      c.on('error', () => {}); // a server restart during teardown is not the test's failure
      await c.connect();
      try {
        await c.query(`drop database if exists ${name} with (force)`);
      } finally {
        await c.end();
      }
    },
  };
}

/** A fresh, migrated database on `backend` (default: PostgreSQL when configured). */
export async function testDatabase(
  backend: Backend = defaultBackend(),
  opts: { migrate?: boolean } = {},
): Promise<TestDb> {
  if (backend === 'postgres') {
    const created = await createPostgresDatabase();
    const database = await openDatabase({
      url: created.url,
      poolSize: 5,
      // Idle connections terminated by the server (a fault test, the drop itself) are expected.
      onError: (err) => {
        if (!isAdminShutdown(err)) console.warn(`test database connection error: ${err.message}`);
      },
    });
    closeBeforeDrop(created.url, () => database.close());
    if (opts.migrate ?? true) await migrate(database);
    return { database, backend, url: created.url, drop: () => created.drop() };
  }
  const database = await openDatabase({ dataDir: 'memory://' });
  if (opts.migrate ?? true) await migrate(database);
  return { database, backend, drop: () => database.close() };
}
