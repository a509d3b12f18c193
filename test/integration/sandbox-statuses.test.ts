/**
 * The sandbox's delivery-status webhooks end to end: a WADI in sandbox mode answers a WhatsApp
 * user through the fake Graph API, which then posts sent → delivered → read to WADI's real
 * WhatsApp webhook, signed with the app secret; WADI records each status and moves the outbound
 * message to read, with its delivered and read times, as it would for Meta.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SandboxState } from '../../src/sandbox/state.ts';
import { postWhatsapp } from '../helpers/cluster.ts';
import { type TestDb, testDatabase } from '../helpers/db.ts';
import { startTestWadi, type TestWadi } from '../helpers/wadi.ts';

let t: TestDb;
let w: TestWadi;
const sandbox = () => w.wadi.wiring.sandboxState as SandboxState;

async function until<T>(what: string, fn: () => Promise<T | undefined | false>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface OutRow {
  status: string;
  platform_message_id: string | null;
  sent_at: Date | null;
  delivered_at: Date | null;
  read_at: Date | null;
}
const outbound = async (to: string) =>
  (
    await t.database.query<OutRow>(
      `select status, platform_message_id, sent_at, delivered_at, read_at
         from outbox_messages where channel = 'whatsapp' and chat_id = $1 order by id`,
      [to],
    )
  ).rows;

beforeAll(async () => {
  t = await testDatabase();
  w = await startTestWadi(t.database, {
    env: {
      WADI_SANDBOX: 'true',
      WADI_SANDBOX_LLM: 'true',
      COALESCE_DEBOUNCE_MS: '50',
      WORKER_POLL_MS: '50',
    },
  });
});
afterAll(async () => {
  await w?.stop();
  await t?.drop();
});

describe('sandbox delivery statuses', () => {
  it('a reply the fake Graph API accepted becomes sent, delivered, then read in WADI, from signed webhooks', async () => {
    const user = '34611222333';
    const before = sandbox().deliveryReports?.sent.length ?? 0;
    expect(await postWhatsapp(w.url, { from: user, id: `wamid.st.${Date.now()}`, text: '¿Hola, me lees? 👋' })).toBe(
      200,
    );
    const [row] = await until('the reply to be read', async () => {
      const rows = await outbound(user);
      return rows.length > 0 && rows.every((r) => r.status === 'read') && rows;
    });
    expect(row.platform_message_id).toMatch(/^wamid\./);
    expect(row.delivered_at).not.toBeNull();
    expect(row.read_at).not.toBeNull();
    // Status times come from the webhook's Unix-second timestamps; sent_at is WADI's own clock.
    expect(Math.floor(row.sent_at!.getTime() / 1000) * 1000).toBeLessThanOrEqual(row.delivered_at!.getTime());
    expect(row.delivered_at!.getTime()).toBeLessThanOrEqual(row.read_at!.getTime());
    // Each status was stored once and applied, in order, and came through the real webhook.
    const events = (
      await t.database.query<{ status: string; applied: boolean }>(
        `select status, applied from status_events where channel = 'whatsapp' and platform_message_id = $1
          order by received_at`,
        [row.platform_message_id],
      )
    ).rows;
    expect(events).toEqual([
      { status: 'sent', applied: true },
      { status: 'delivered', applied: true },
      { status: 'read', applied: true },
    ]);
    const reports = sandbox()
      .deliveryReports!.sent.slice(before)
      .filter((r) => r.wamid === row.platform_message_id);
    expect(reports).toEqual([
      { wamid: row.platform_message_id, status: 'sent', httpStatus: 200 },
      { wamid: row.platform_message_id, status: 'delivered', httpStatus: 200 },
      { wamid: row.platform_message_id, status: 'read', httpStatus: 200 },
    ]);
  });

  it('a status webhook signed with the wrong secret is refused and changes nothing', async () => {
    const reports = sandbox().deliveryReports!;
    const { DeliveryReports } = await import('../../src/sandbox/delivery-reports.ts');
    const forged = new DeliveryReports({
      target: { url: () => `${w.url}/webhooks/whatsapp`, appSecret: 'not-the-app-secret' },
      delays: { sent: 0, delivered: 0, read: 0 },
    });
    const [row] = await outbound('34611222333');
    const wamid = row.platform_message_id as string;
    await t.database.query(`delete from status_events where platform_message_id = $1 and status = 'read'`, [wamid]);
    forged.schedule('100000000000001', wamid, '34611222333');
    await until('the forged reports to be answered', async () => forged.sent.length === 3);
    expect(forged.sent.map((r) => r.httpStatus)).toEqual([401, 401, 401]);
    const read = await t.database.query(
      `select 1 from status_events where platform_message_id = $1 and status = 'read'`,
      [wamid],
    );
    expect(read.rows).toHaveLength(0);
    expect(reports.enabled).toBe(true);
  });

  it('can be turned off and slowed down; bad settings are refused with a clear error', async () => {
    const put = (body: unknown) =>
      fetch(`${w.url}/sandbox/whatsapp/delivery-statuses`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const bad = await put({ sent_ms: 5000, read_ms: 10 });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toContain('must not decrease');
    expect((await put({ read_ms: 'soon' })).status).toBe(400);
    expect((await put({ nonsense: true })).status).toBe(400);
    const off = await put({ enabled: false });
    expect(await off.json()).toMatchObject({ available: true, enabled: false });
    const user = '34611222444';
    expect(await postWhatsapp(w.url, { from: user, id: `wamid.st2.${Date.now()}`, text: 'sin estados' })).toBe(200);
    await until('the reply to be sent', async () => {
      const rows = await outbound(user);
      return rows.length > 0 && rows.every((r) => r.platform_message_id !== null) && rows;
    });
    // Well past the default read delay: no status came, the reply stays "sent".
    await new Promise((r) => setTimeout(r, 2500));
    expect((await outbound(user)).map((r) => r.status)).toEqual((await outbound(user)).map(() => 'sent'));
    const on = await put({ enabled: true, sent_ms: 100, delivered_ms: 200, read_ms: 300 });
    expect(await on.json()).toEqual({ available: true, enabled: true, sent_ms: 100, delivered_ms: 200, read_ms: 300 });
  });
});
