/** Ids and cursors that pass a loose schema but overflow PostgreSQL answer 400, never 500. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminClient } from '../../test/helpers/admin.ts';
import { type TestDb, testDatabase } from '../../test/helpers/db.ts';
import { startTestWadi, type TestWadi } from '../../test/helpers/wadi.ts';
import { encodeCursor } from './queries.ts';

let t: TestDb;
let w: TestWadi;
const call = adminClient(() => w.url);

beforeAll(async () => {
  t = await testDatabase();
  w = await startTestWadi(t.database, { env: { TRUST_PROXY: '1' } });
});
afterAll(async () => {
  await w?.stop();
  await t?.drop();
});

const cursorOf = (lastSeen: string, id: number) => encodeCursor({ lastSeen, id });

describe('admin ids and cursors out of range', () => {
  it.each([
    ['GET', '/admin/sessions/99999999999999999999/messages'],
    ['GET', '/admin/sessions/9007199254740992/messages'],
    ['POST', '/admin/sessions/9223372036854775808/pause'],
    ['POST', '/admin/sessions/99999999999999999999/reset'],
    ['POST', '/admin/messages/99999999999999999999/replay'],
    ['GET', `/admin/sessions?cursor=${cursorOf('9999-99-99 99:99:99+00', 1)}`],
    ['GET', `/admin/sessions?cursor=${cursorOf('2026-02-30 10:00:00+00', 1)}`],
    ['GET', `/admin/sessions?cursor=${cursorOf('2026-11-30 10:00:00+99', 1)}`],
    ['GET', `/admin/sessions?cursor=${cursorOf('2026-11-30 10:00:00+00', 1e20)}`],
    ['GET', '/admin/sessions?limit=Infinity'],
    ['GET', '/admin/sessions/1/messages?limit=-Infinity'],
    ['GET', '/admin/dead-letters?limit=Infinity'],
  ])('%s %s → 400 with a JSON error', async (method, path) => {
    const res = await call(path, { method, body: method === 'POST' ? {} : undefined });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBeTruthy();
  });

  it('still serves the largest id and a real cursor', async () => {
    expect((await call('/admin/sessions/9007199254740991/messages')).status).toBe(404);
    const ok = await call(`/admin/sessions?cursor=${cursorOf('2026-11-30 10:00:00.123456+00', 5)}`);
    expect(ok.status).toBe(200);
  });

  it('logged no internal error for any of them (nothing feeds the error-rate alert)', () => {
    const errors = w.logs.records().filter((r) => r.level === 'error');
    expect(errors).toEqual([]);
  });
});
