/**
 * Teardown: a database dropped WITH (FORCE), or a connection terminated by the server, sends
 * 57P01 (admin_shutdown) to idle pooled clients. Neither the helpers nor the app may turn that
 * into an unhandled error (which outlived a passing fault test and kept vitest from exiting).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWadi, type Wadi } from '../../src/app/wadi.ts';
import { createLogger } from '../../src/observability/logging/logger.ts';
import { Cluster } from './cluster.ts';
import { createPostgresDatabase, postgresUrl, type TestDb, testDatabase } from './db.ts';
import { LogCapture, testConfig } from './wadi.ts';

describe.runIf(postgresUrl())('57P01 on idle connections', () => {
  it('dropping a database closes the pools tests still hold first (no unhandled error)', async () => {
    const db = await createPostgresDatabase();
    const cluster = new Cluster(db.url);
    // Three idle pooled connections to the database about to be dropped.
    await Promise.all([1, 2, 3].map(() => cluster.query('select pg_sleep(0.05)')));
    await db.drop();
    // The pool was ended before FORCE terminated anything: using it now is the caller's error.
    await expect(cluster.query('select 1')).rejects.toThrow(/end/i);
    // Let any error event of a terminated socket surface in this test, not after it.
    await new Promise((r) => setImmediate(r));
  });

  describe('in the app', () => {
    let t: TestDb;
    let wadi: Wadi;
    const logs = new LogCapture();
    beforeAll(async () => {
      t = await testDatabase('postgres');
      const config = testConfig({ DATABASE_URL: t.url });
      const logKit = createLogger({ level: 'debug', format: 'json', destination: logs });
      // Its own pool (no database passed in), as `wadi start` has.
      wadi = await createWadi(config, { role: 'web', logKit, migrate: true });
      await wadi.start(0);
    });
    afterAll(async () => {
      await wadi?.stop();
      await t?.drop();
    });

    it('takes a terminated idle connection as the server shutdown it is, and reconnects', async () => {
      await Promise.all([1, 2, 3].map(() => wadi.database.query('select pg_sleep(0.05)')));
      const { rows } = await t.database.query<{ n: number }>(
        `select count(pg_terminate_backend(pid))::int as n from pg_stat_activity
         where datname = current_database() and application_name = 'wadi-web' and state = 'idle'`,
      );
      expect(rows[0]?.n).toBeGreaterThan(0);
      const terminated = rows[0]?.n ?? 0;
      const shutdownLines = () =>
        logs.records().filter((r) => String(r.msg).startsWith('database closed an idle connection'));
      // Each terminated idle client reports once, and the pool drops it. A background loop of the
      // app may check a counted-idle client out just before the terminate lands: that one fails its
      // query instead (the caller's error to handle), so the count is at most `terminated`.
      await expect.poll(() => shutdownLines().length).toBeGreaterThan(0);
      await new Promise((r) => setTimeout(r, 200));
      expect(shutdownLines().length).toBeLessThanOrEqual(terminated);
      expect(shutdownLines().every((r) => r.level === 'info' && r.code === '57P01')).toBe(true);
      expect(logs.records().some((r) => r.msg === 'database connection error')).toBe(false);
      // The pool connects anew on the next query.
      expect((await wadi.database.query<{ one: number }>('select 1 as one')).rows[0]?.one).toBe(1);
    });
  });
});
