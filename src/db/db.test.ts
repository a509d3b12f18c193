import { afterEach, describe, expect, it } from 'vitest';
import { backends, createPostgresDatabase, postgresUrl, type TestDb, testDatabase } from '../../test/helpers/db.ts';
import { openDatabase } from './client.ts';
import { migrate, migrationStatus } from './migrate.ts';

describe.each(backends())('database on %s', (backend) => {
  let t: TestDb;
  afterEach(async () => t?.drop());

  it('applies migrations, then reports none pending and re-runs as a no-op', async () => {
    t = await testDatabase(backend, { migrate: false });
    const before = await migrationStatus(t.database);
    expect(before.length).toBeGreaterThan(0);
    expect(before.every((m) => !m.applied)).toBe(true);
    expect(await migrate(t.database)).toBe(before.length);
    expect((await migrationStatus(t.database)).every((m) => m.applied)).toBe(true);
    expect(await migrate(t.database)).toBe(0);
    const { rows } = await t.database.query<{ n: number }>('select count(*)::int as n from conversations');
    expect(rows[0].n).toBe(0);
  });

  it('commits and rolls back transactions', async () => {
    t = await testDatabase(backend);
    await t.database.transaction(async (tx) => {
      await tx.query(`insert into kv (key, value) values ('a', '1')`);
    });
    await expect(
      t.database.transaction(async (tx) => {
        await tx.query(`insert into kv (key, value) values ('b', '2')`);
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    const { rows } = await t.database.query<{ key: string }>('select key from kv order by key');
    expect(rows.map((r) => r.key)).toEqual(['a']);
  });

  it('grants an advisory lock to one holder at a time', async () => {
    t = await testDatabase(backend);
    const a = await t.database.tryAdvisoryLock(42);
    expect(a).not.toBeNull();
    expect(await t.database.tryAdvisoryLock(42)).toBeNull();
    await a?.release();
    const b = await t.database.tryAdvisoryLock(42);
    expect(b).not.toBeNull();
    await b?.release();
  });

  it('answers a ping with its latency', async () => {
    t = await testDatabase(backend);
    expect(await t.database.ping(1000)).toBeGreaterThanOrEqual(0);
  });
});

describe.runIf(postgresUrl())('PostgreSQL specifics', () => {
  it('lets two replicas migrate at the same time without racing', async () => {
    const created = await createPostgresDatabase();
    const a = await openDatabase({ url: created.url, poolSize: 2 });
    const b = await openDatabase({ url: created.url, poolSize: 2 });
    try {
      const [na, nb] = await Promise.all([migrate(a), migrate(b)]);
      expect(na + nb).toBe((await migrationStatus(a)).length);
      expect(Math.min(na, nb)).toBe(0);
      expect((await migrationStatus(b)).every((m) => m.applied)).toBe(true);
    } finally {
      await a.close();
      await b.close();
      await created.drop();
    }
  });

  it('fails a ping quickly when the server is unreachable', async () => {
    const db = await openDatabase({ url: 'postgres://postgres@127.0.0.1:1/none', poolSize: 1 });
    try {
      await expect(db.ping(1000)).rejects.toThrow();
    } finally {
      await db.close();
    }
  });
});
