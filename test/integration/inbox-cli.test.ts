import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runWadi } from '../helpers/cli.ts';
import { postgresUrl, type TestDb, testDatabase } from '../helpers/db.ts';

describe.runIf(postgresUrl())('wadi inbox dead | replay', () => {
  let t: TestDb;
  let deadId: number;
  beforeAll(async () => {
    t = await testDatabase('postgres');
    const { rows } = await t.database.query<{ id: number }>(
      `insert into inbox_messages (channel, external_id, chat_id, kind, event, status, attempts, last_error)
       values ('whatsapp', 'wamid.dead.1', '34600000009', 'text', '{"text":"hola muerto"}', 'dead', 8,
               'AssistantRejectedError: LLM rejected the request (400)'),
              ('whatsapp', 'wamid.done.1', '34600000009', 'text', '{"text":"ok"}', 'done', 1, null)
       returning id`,
    );
    deadId = rows[0].id;
  });
  afterAll(async () => t?.drop());

  it('lists dead letters with their reason, replays one, and refuses what is not dead', async () => {
    const env = { DATABASE_URL: t.url };
    const list = await runWadi(['inbox', 'dead'], { env });
    expect(list.code).toBe(0);
    expect(list.stdout).toContain(`${deadId}\twhatsapp\t34600000009`);
    expect(list.stdout).toContain('AssistantRejectedError: LLM rejected the request (400)');
    expect(list.stdout).toContain('hola muerto');
    const json = JSON.parse((await runWadi(['inbox', 'dead', '--json'], { env })).stdout) as {
      items: { id: number }[];
    };
    expect(json.items.map((i) => i.id)).toEqual([deadId]);

    const replay = await runWadi(['inbox', 'replay', String(deadId)], { env });
    expect(replay.code).toBe(0);
    expect(replay.stdout).toContain('pending again');
    const { rows } = await t.database.query<{ status: string; attempts: number }>(
      'select status, attempts from inbox_messages where id = $1',
      [deadId],
    );
    expect(rows[0]).toEqual({ status: 'pending', attempts: 0 });
    expect((await runWadi(['inbox', 'dead'], { env })).stdout).toContain('no dead letters');

    const again = await runWadi(['inbox', 'replay', String(deadId)], { env });
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('is pending, not dead');
    const bad = await runWadi(['inbox', 'replay', 'abc'], { env });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('invalid id "abc"');
    expect((await runWadi(['inbox', 'replay', '999999'], { env })).stderr).toContain('does not exist');
  }, 120_000);

  it('lists unstorable deliveries with their reason and writes one back byte for byte', async () => {
    const env = { DATABASE_URL: t.url };
    expect((await runWadi(['inbox', 'unstorable'], { env })).stdout).toContain('no unstorable deliveries');
    const raw = Buffer.from('{"entry":[{"timestamp":"8000000000000","text":"a\\u0000b"}]}');
    const { rows } = await t.database.query<{ id: number }>(
      `insert into unstorable_deliveries (channel, reason, items, bytes, raw_base64)
       values ('whatsapp', '22009 invalid_time_zone_displacement_value', 1, $1, $2) returning id`,
      [raw.length, raw.toString('base64')],
    );
    const id = rows[0].id;
    const list = await runWadi(['inbox', 'unstorable'], { env });
    expect(list.code).toBe(0);
    expect(list.stdout).toContain(`${id}\twhatsapp\t`);
    expect(list.stdout).toContain(`items=1\tbytes=${raw.length}\t22009 invalid_time_zone_displacement_value`);
    const back = await runWadi(['inbox', 'unstorable', '--raw', String(id)], { env });
    expect(back.stdout).toBe(raw.toString('utf8'));
    expect((await runWadi(['inbox', 'unstorable', '--raw', '999999'], { env })).stderr).toContain('does not exist');
  }, 120_000);
});
