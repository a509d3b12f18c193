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
      const c = new pg.Client({ connectionString: base });
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
    const database = await openDatabase({ url: created.url, poolSize: 5 });
    if (opts.migrate ?? true) await migrate(database);
    return {
      database,
      backend,
      url: created.url,
      async drop() {
        await database.close().catch(() => {});
        await created.drop();
      },
    };
  }
  const database = await openDatabase({ dataDir: 'memory://' });
  if (opts.migrate ?? true) await migrate(database);
  return { database, backend, drop: () => database.close() };
}
