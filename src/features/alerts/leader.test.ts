import net from 'node:net';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../test/helpers/clock.ts';
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
    const clock = new ManualClock(Date.now());
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
        clock,
      });
    const a = make(t.database);
    const b = make(second);
    const both = async (seconds: number) => {
      clock.advance(seconds * 1000);
      await Promise.all([a.tick(), b.tick()]);
    };

    await both(0);
    expect([a.isLeader, b.isLeader].filter(Boolean)).toHaveLength(1);
    const [leader, follower] = a.isLeader ? [a, b] : [b, a];
    // The follower evaluates nothing but shows the leader's round: the rule pending, not firing.
    expect((await follower.pending()).map((x) => x.alert)).toEqual(['ServiceNotReady']);
    expect((await follower.firing()).map((x) => x.alert)).toEqual([]);
    const seen = await follower.rules();
    expect(seen.evaluatedAt).toBe(new Date(clock.now()).toISOString());
    expect(seen.rules.find((r) => r.alert === 'ServiceNotReady')).toMatchObject({ state: 'pending', value: 'fail' });
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
      clock.advance(seconds * 1000);
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

/** A TCP proxy in front of PostgreSQL that the test can cut and restore, like a network outage. */
async function cuttableProxy(
  target: URL,
): Promise<{ url: string; cut(): Promise<void>; restore(): Promise<void>; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  let server: net.Server | undefined;
  let port = 0;
  const listen = () =>
    new Promise<void>((resolve) => {
      const srv = net.createServer((client) => {
        const upstream = net.connect(Number(target.port || 5432), target.hostname);
        for (const s of [client, upstream]) {
          sockets.add(s);
          s.on('error', () => {});
          s.on('close', () => sockets.delete(s));
        }
        client.pipe(upstream).pipe(client);
      });
      server = srv;
      srv.listen(port, '127.0.0.1', () => {
        port = (srv.address() as net.AddressInfo).port;
        resolve();
      });
    });
  const cut = async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    server = undefined;
  };
  await listen();
  const u = new URL(target.toString());
  u.hostname = '127.0.0.1';
  u.port = String(port);
  return { url: u.toString(), cut, restore: listen, close: cut };
}

describe.runIf(postgresUrl())('alerting while the database is unreachable', () => {
  it('announces ServiceNotReady directly after the failing period, and its resolution once the database is back', async () => {
    const t = await testDatabase('postgres');
    const proxy = await cuttableProxy(new URL(t.url as string));
    const database = await openDatabase({ url: proxy.url, poolSize: 2 });
    const telegram = await telegramReceiver();
    try {
      const clock = new ManualClock(Date.now());
      const config = testConfig({
        ALERT_TELEGRAM_CHAT_ID: '42',
        ALERT_TELEGRAM_BOT_TOKEN: '123:outage-test-token-abcdefghijkl',
        TELEGRAM_API_URL: telegram.url,
      });
      const engine = new AlertEngine({
        database,
        rules: [],
        notifiers: notifiersFromEnv(config.env),
        logger: pino({ level: 'silent' }),
        repeatSeconds: 3600,
        outageForSeconds: 60,
        clock,
      });
      await engine.tick();
      expect(engine.isLeader).toBe(true);
      await proxy.cut();
      for (let i = 0; i < 50 && engine.isLeader; i++) await new Promise((r) => setTimeout(r, 20));
      expect(engine.isLeader).toBe(false);
      await engine.tick();
      clock.advance(30_000);
      await engine.tick();
      expect(telegram.received).toHaveLength(0);
      clock.advance(30_000);
      await engine.tick();
      expect(telegram.received).toHaveLength(1);
      expect(telegram.received[0].text).toContain('FIRING: ServiceNotReady');
      expect(telegram.received[0].text).toContain('database unreachable');
      clock.advance(10_000);
      await engine.tick();
      expect(telegram.received).toHaveLength(1);
      await proxy.restore();
      clock.advance(10_000);
      await engine.tick();
      expect(engine.isLeader).toBe(true);
      expect(telegram.received.map((r) => r.text.split('\n')[0])).toEqual([
        '🔥 FIRING: ServiceNotReady',
        '✅ RESOLVED: ServiceNotReady',
      ]);
      await engine.stop();
    } finally {
      await telegram.close();
      await database.close().catch(() => {});
      await proxy.close();
      await t.drop();
    }
  });
});
