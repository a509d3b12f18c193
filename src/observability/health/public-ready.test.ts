/** Public readiness says `unreachable`, never the dependency's raw error; /admin/health keeps it. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { adminClient } from '../../../test/helpers/admin.ts';
import { postgresUrl, type TestDb, testDatabase } from '../../../test/helpers/db.ts';
import { FaultProxy } from '../../../test/helpers/fault-proxy.ts';
import { startTestWadi, type TestWadi } from '../../../test/helpers/wadi.ts';
import { type Database, openDatabase } from '../../db/client.ts';

let t: TestDb;
let proxy: FaultProxy;
let database: Database;
let w: TestWadi;

beforeAll(async () => {
  t = await testDatabase('postgres');
  const u = new URL(t.url as string);
  proxy = await FaultProxy.start({ host: u.hostname, port: Number(u.port || 5432) });
  database = await openDatabase({ url: proxy.url(t.url as string), poolSize: 3, onError: () => {} });
  w = await startTestWadi(database, { env: { TRUST_PROXY: 'true' } });
});
afterAll(async () => {
  await w?.stop();
  await database?.close().catch(() => {});
  await proxy?.close();
  await t?.drop();
});

it.runIf(postgresUrl())(
  'answers 503 with "unreachable" while the database is down, detail only for admins',
  async () => {
    proxy.outage();
    try {
      const res = await fetch(`${w.url}/health/ready`);
      const text = await res.text();
      expect(res.status).toBe(503);
      const db = (JSON.parse(text) as { checks: Record<string, { status: string; output?: string }[]> }).checks[
        'database:responseTime'
      ]?.[0];
      expect(db).toMatchObject({ status: 'fail', output: 'unreachable' });
      expect(text).not.toContain(String(proxy.port));
      expect(text).not.toMatch(/ECONNREFUSED|terminated|127\.0\.0\.1/);

      const admin = await adminClient(() => w.url)('/admin/health');
      const detail = JSON.stringify(admin.body);
      expect(detail).not.toContain('"output":"unreachable"');
      expect(detail).toMatch(/database:responseTime/);
    } finally {
      proxy.restore();
    }
  },
);
