import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresUrl, type TestDb, testDatabase } from '../../../test/helpers/db.ts';
import { type Receiver, telegramReceiver } from '../../../test/helpers/receivers.ts';
import { testConfig } from '../../../test/helpers/wadi.ts';
import { type Database, openDatabase } from '../../db/client.ts';
import { AlertEngine } from './engine.ts';
import { notifiersFromEnv } from './notifiers.ts';
import type { AlertRule } from './rules.ts';

describe.runIf(postgresUrl())('two replicas on one PostgreSQL database', () => {
  let t: TestDb;
  let second: Database;
  let telegram: Receiver;
  beforeAll(async () => {
    t = await testDatabase('postgres');
    second = await openDatabase({ url: t.url, poolSize: 2, applicationName: 'wadi-second' });
    telegram = await telegramReceiver();
  });
  afterAll(async () => {
    await telegram.close();
    await second.close();
    await t.drop();
  });

  it('exactly one notifies; the other takes over when the leader dies and resolves the same episode', async () => {
    let now = Date.now();
    let failing = true;
    const rule: AlertRule = {
      name: 'ServiceNotReady',
      forSeconds: 30,
      threshold: 'readiness failing for 30 s',
      summary: 'test',
      check: async () => ({ active: failing, value: failing ? 'fail' : 'pass' }),
    };
    const config = testConfig({
      ALERT_TELEGRAM_CHAT_ID: '42',
      ALERT_TELEGRAM_BOT_TOKEN: '123:leader-test-token-abcdefghijkl',
      TELEGRAM_API_URL: telegram.url,
    });
    const make = (database: Database) =>
      new AlertEngine({
        database,
        rules: [rule],
        notifiers: notifiersFromEnv(config.env),
        logger: pino({ level: 'silent' }),
        repeatSeconds: 3600,
        now: () => now,
      });
    const a = make(t.database);
    const b = make(second);
    const both = async (seconds: number) => {
      now += seconds * 1000;
      await Promise.all([a.tick(), b.tick()]);
    };

    await both(0);
    expect([a.isLeader, b.isLeader].filter(Boolean)).toHaveLength(1);
    const [leader, follower] = a.isLeader ? [a, b] : [b, a];
    await both(20);
    await both(20);
    await both(10);
    expect(telegram.received.map((r) => r.text.split('\n')[0])).toEqual(['🔥 FIRING: ServiceNotReady']);

    // Kill the leader's lock connection, as a crashed replica's would die.
    await t.database.query(
      `select pg_terminate_backend(pid) from pg_stat_activity
        where application_name like '%-lock' and datname = current_database() and pid <> pg_backend_pid()`,
    );
    for (let i = 0; i < 50 && leader.isLeader; i++) await new Promise((r) => setTimeout(r, 20));
    expect(leader.isLeader).toBe(false);
    // The crashed replica ticks no more; the survivor takes over on its next round.
    const survivor = async (seconds: number) => {
      now += seconds * 1000;
      await follower.tick();
    };
    await survivor(10);
    expect(follower.isLeader).toBe(true);
    // The new leader resumed the firing episode: nothing re-announced.
    await survivor(10);
    expect(telegram.received).toHaveLength(1);
    expect((await follower.firing()).map((x) => x.alert)).toEqual(['ServiceNotReady']);

    failing = false;
    await survivor(10);
    expect(telegram.received.map((r) => r.text.split('\n')[0])).toEqual([
      '🔥 FIRING: ServiceNotReady',
      '✅ RESOLVED: ServiceNotReady',
    ]);
    const { rows } = await t.database.query<{ n: number }>('select count(*)::int as n from alert_events');
    expect(rows[0].n).toBe(1);
    await a.stop();
    await b.stop();
  });
});
