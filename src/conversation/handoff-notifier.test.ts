import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedConversation } from '../../test/helpers/admin-seed.ts';
import { type TestDb, testDatabase } from '../../test/helpers/db.ts';
import { type Receiver, slackReceiver, telegramReceiver } from '../../test/helpers/receivers.ts';
import { requestHandoff } from '../db/conversation-states.ts';
import { slackNotifier, telegramNotifier } from '../features/alerts/notifiers.ts';
import { HandoffNotifier, type OnCallChannel } from './handoff-notifier.ts';

describe('on-call handoff notifications', () => {
  let t: TestDb;
  let tg: Receiver;
  let slack: Receiver;
  let channels: OnCallChannel[];
  beforeAll(async () => {
    t = await testDatabase();
    tg = await telegramReceiver();
    slack = await slackReceiver();
    channels = [
      telegramNotifier({ apiUrl: tg.url, token: '123:secret-token', chatId: '-1001' }),
      slackNotifier(slack.url),
    ].map((n) => ({ name: n.name, sendText: (text: string) => n.sendText!(text) }));
  });
  afterAll(async () => {
    await tg?.close();
    await slack?.close();
    await t?.drop();
  });

  const notifier = () =>
    new HandoffNotifier({
      database: t.database,
      channels,
      logger: pino({ level: 'silent' }),
      dashboardBase: () => 'https://wadi.example.com/',
    });

  it('tells every destination once, with a link, and not again', async () => {
    const id = await seedConversation(t.database, { chatId: '34655500001', name: 'Ana' });
    await requestHandoff(t.database, id, 'keyword', true);
    const n = notifier();
    await n.run();
    await n.run();
    expect(tg.received.map((r) => r.text)).toHaveLength(1);
    expect(slack.received).toHaveLength(1);
    expect(tg.received[0].text).toContain(`https://wadi.example.com/admin/ui/conversations/${id}`);
    expect(tg.received[0].text).toMatch(/Ana on WhatsApp asked for a person/);
    // The bot token travels in the URL path only, never in the text.
    expect(tg.received[0].text).not.toContain('secret-token');
  });

  it('retries with backoff while every destination fails, and stops once one accepts', async () => {
    const id = await seedConversation(t.database, { chatId: '34655500002', name: 'Ben' });
    await requestHandoff(t.database, id, 'command', true);
    tg.failNext(1);
    slack.failNext(1);
    const before = { tg: tg.received.length, slack: slack.received.length };
    const n = notifier();
    await n.run();
    expect(tg.received.length).toBe(before.tg);
    const due = await t.database.query<{ later: boolean; attempts: number }>(
      `select handoff_notify_at > now() + interval '5 seconds' as later, handoff_notify_attempts as attempts
       from conversations where id = $1`,
      [id],
    );
    expect(due.rows[0]).toEqual({ later: true, attempts: 1 });
    // Due again (time moved on): Slack is still down, Telegram takes it, which is enough.
    await t.database.query(`update conversations set handoff_notify_at = now() where id = $1`, [id]);
    slack.failNext(1);
    await n.run();
    expect(tg.received.length).toBe(before.tg + 1);
    const after = await t.database.query<{ at: unknown }>(
      'select handoff_notify_at as at from conversations where id = $1',
      [id],
    );
    expect(after.rows[0].at).toBeNull();
  });
});
