/**
 * The RETENTION_DAYS schedule against real PostgreSQL, with a clock moved by hand: the purge runs at
 * start, then once per period, with the cutoff dated by that clock, so content becomes purgeable as
 * days pass without anyone calling `purge()`.
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedConversation, seedInbound, seedOutbound } from '../../test/helpers/admin-seed.ts';
import { ManualTimerClock } from '../../test/helpers/clock.ts';
import { defaultBackend, type TestDb, testDatabase } from '../../test/helpers/db.ts';
import { PeopleSchedules } from './schedules.ts';

const DAY = 86_400_000;

describe('retention schedule', () => {
  let t: TestDb;
  beforeAll(async () => {
    t = await testDatabase(defaultBackend());
  });
  afterAll(async () => t?.drop());

  it('purges on start and then every period, as content passes RETENTION_DAYS on the clock', async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = pino(
      { level: 'info' },
      new Writable({
        write(chunk, _enc, cb) {
          lines.push(JSON.parse(chunk.toString()));
          cb();
        },
      }),
    );
    const id = await seedConversation(t.database, { chatId: '34655555555' });
    // Two messages, 10 and 25 days old by the database's clock.
    const ten = await seedInbound(t.database, { conversationId: id, chatId: '34655555555', text: 'hace diez días' });
    const twentyFive = await seedInbound(t.database, {
      conversationId: id,
      chatId: '34655555555',
      text: 'hace veinticinco',
    });
    const reply = await seedOutbound(t.database, {
      conversationId: id,
      chatId: '34655555555',
      inboxId: twentyFive,
      text: 'respuesta de hace veinticinco',
      status: 'read',
    });
    await t.database.query(`update inbox_messages set received_at = now() - interval '10 days' where id = $1`, [ten]);
    await t.database.query(`update inbox_messages set received_at = now() - interval '25 days' where id = $1`, [
      twentyFive,
    ]);
    await t.database.query(`update outbox_messages set created_at = now() - interval '25 days' where id = $1`, [reply]);
    await t.database.query(
      `insert into tool_calls (inbox_id, conversation_id, step, round, call_id, tool, arguments, result, outcome,
         started_at) values ($1, $2, 0, 0, 'c', 'lookup_order', '{"order":"A-17"}', 'enviado', 'ok',
         now() - interval '25 days')`,
      [twentyFive, id],
    );
    const texts = async () =>
      (
        await t.database.query<{ text: string | null }>(
          `select event->>'text' as text from inbox_messages where conversation_id = $1 order by received_at`,
          [id],
        )
      ).rows.map((r) => r.text);

    // Half a day ahead of the rows' ages, so no decision falls within the milliseconds between the
    // seeding statements and this line (a tool call stamped in the same millisecond as Date.now()
    // once crossed the cutoff a day later than the messages and made a second purge line).
    const clock = new ManualTimerClock(Date.now() + DAY / 2);
    const schedules = new PeopleSchedules({
      database: t.database,
      logger,
      idleMinutes: 0,
      retentionDays: 30,
      purgeEveryMs: DAY,
      clock,
    });
    const purged = () => lines.filter((l) => l.msg === 'old message content purged');
    // Moves the clock one period at a time, waiting for each run to finish (it re-arms its timer).
    const days = async (n: number) => {
      for (let d = 0; d < n; d++) {
        clock.advance(DAY);
        await expect.poll(() => clock['timers'].length, { timeout: 10_000 }).toBe(1);
      }
    };
    try {
      schedules.start();
      // The first run, at start: nothing is 30 days old yet, nor four days later.
      await expect.poll(() => clock['timers'].length, { timeout: 10_000 }).toBe(1);
      await days(4);
      expect(await texts()).toEqual(['hace veinticinco', 'hace diez días']);
      expect(purged()).toHaveLength(0);

      // Five and a half days after start the 25-day-old turn is 30 days old: the daily run empties it.
      await days(2);
      expect(await texts()).toEqual([null, 'hace diez días']);
      expect(purged()).toHaveLength(1);
      expect(purged()[0]).toMatchObject({ inbound: 1, outbound: 1, toolCalls: 1, retentionDays: 30 });
      const out = await t.database.query<{ body: string; status: string }>(
        'select body, status from outbox_messages where id = $1',
        [reply],
      );
      expect(out.rows[0]).toEqual({ body: '', status: 'read' });
      const tool = await t.database.query<{ arguments: unknown; result: string | null; tool: string }>(
        'select arguments, result, tool from tool_calls where inbox_id = $1',
        [twentyFive],
      );
      expect(tool.rows[0]).toEqual({ arguments: { purged: true }, result: null, tool: 'lookup_order' });

      // The 10-day-old one is kept until it is 30 days old (19.5 days after start), purged by day 21.
      await days(13);
      expect(await texts()).toEqual([null, 'hace diez días']);
      await days(2);
      expect(await texts()).toEqual([null, null]);
      expect(purged()).toHaveLength(2);
    } finally {
      await schedules.stop();
    }
    // Stopped: no timer left armed.
    expect(clock['timers']).toHaveLength(0);
  });
});
