/** Delivery statuses applied to outbound messages: forward only, the channel's failure reason, early statuses. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, type TestDb, testDatabase } from '../../test/helpers/db.ts';
import type { StatusEvent } from '../channels/types.ts';
import { applyPendingStatuses, storeAndApplyStatuses } from './statuses.ts';

describe.each(backends())('outbox statuses on %s', (backend) => {
  let t: TestDb;
  beforeAll(async () => {
    t = await testDatabase(backend);
  });
  afterAll(async () => t?.drop());

  const sentRow = async () => {
    const pid = `wamid.st.${Math.random()}`;
    await t.database.query(
      `insert into outbox_messages (channel, chat_id, body, status, platform_message_id) values ('whatsapp', '1', 'hi', 'sent', $1)`,
      [pid],
    );
    return pid;
  };
  const st = (pid: string, status: StatusEvent['status'], at: number, error?: StatusEvent['error']): StatusEvent => ({
    channel: 'whatsapp',
    platformMessageId: pid,
    status,
    occurredAt: new Date(1_700_000_000_000 + at).toISOString(),
    error,
  });
  const row = async (pid: string) =>
    (
      await t.database.query<{ status: string; failure_reason: string | null; error_code: string | null }>(
        'select status, failure_reason, error_code from outbox_messages where platform_message_id = $1',
        [pid],
      )
    ).rows[0];

  it('moves forward only: read then a late delivered stays read; a redelivered status is a duplicate', async () => {
    const pid = await sentRow();
    const first = await storeAndApplyStatuses(t.database, [st(pid, 'read', 2000)]);
    expect(first).toHaveLength(1);
    await storeAndApplyStatuses(t.database, [st(pid, 'delivered', 1000)]);
    expect((await row(pid)).status).toBe('read');
    expect(await storeAndApplyStatuses(t.database, [st(pid, 'read', 2000)])).toHaveLength(0);
  });

  it("records the channel's reason for a failure, platform_failed when the channel gave none", async () => {
    const closed = await sentRow();
    await storeAndApplyStatuses(t.database, [
      st(closed, 'failed', 1000, { code: '131047', title: 'Re-engagement message', reason: 'window_closed' }),
    ]);
    expect(await row(closed)).toMatchObject({
      status: 'failed',
      failure_reason: 'window_closed',
      error_code: '131047',
    });
    const other = await sentRow();
    await storeAndApplyStatuses(t.database, [st(other, 'failed', 1000, { code: '999' })]);
    expect(await row(other)).toMatchObject({ status: 'failed', failure_reason: 'platform_failed', error_code: '999' });
  });

  it('keeps a status that raced ahead of its send and applies it once the platform id is recorded', async () => {
    const pid = `wamid.early.${Math.random()}`;
    await storeAndApplyStatuses(t.database, [st(pid, 'delivered', 1000)]);
    await t.database.query(
      `insert into outbox_messages (channel, chat_id, body, status, platform_message_id) values ('whatsapp', '1', 'hi', 'sent', $1)`,
      [pid],
    );
    expect((await row(pid)).status).toBe('sent');
    await applyPendingStatuses(t.database, 'whatsapp', pid);
    expect((await row(pid)).status).toBe('delivered');
    const { rows } = await t.database.query<{ applied: boolean }>(
      'select applied from status_events where platform_message_id = $1',
      [pid],
    );
    expect(rows.map((r) => r.applied)).toEqual([true]);
  });
});
