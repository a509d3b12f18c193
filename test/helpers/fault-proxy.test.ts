import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { postgresUrl } from './db.ts';
import { FaultProxy } from './fault-proxy.ts';

describe.runIf(postgresUrl())('fault proxy', () => {
  it('passes, cuts, refuses and restores PostgreSQL connections', async () => {
    const base = new URL(postgresUrl() ?? '');
    const proxy = await FaultProxy.start({ host: base.hostname, port: Number(base.port || 5432) });
    const url = proxy.url(base.toString());
    try {
      const a = new pg.Client({ connectionString: url });
      a.on('error', () => {});
      await a.connect();
      expect((await a.query('select 1 as one')).rows[0].one).toBe(1);
      proxy.outage();
      await expect(a.query('select 1')).rejects.toThrow();
      const b = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
      b.on('error', () => {});
      await expect(b.connect()).rejects.toThrow();
      proxy.restore();
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      expect((await c.query('select 2 as two')).rows[0].two).toBe(2);
      await c.end();
    } finally {
      await proxy.close();
    }
  });
});
