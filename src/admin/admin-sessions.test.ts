import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminClient } from '../../test/helpers/admin.ts';
import { seedConversation, seedInbound, seedOutbound } from '../../test/helpers/admin-seed.ts';
import { type TestDb, testDatabase } from '../../test/helpers/db.ts';
import { startTestWadi, TEST_ADMIN_KEY, type TestWadi } from '../../test/helpers/wadi.ts';

let t: TestDb;
let w: TestWadi;
const call = adminClient(() => w.url);
const fingerprint = createHash('sha256').update(TEST_ADMIN_KEY).digest('hex').slice(0, 12);
const ids: Record<string, number> = {};

async function auditRows(action: string): Promise<Record<string, unknown>[]> {
  const { rows } = await t.database.query('select * from audit_log where action = $1 order by id', [action]);
  return rows;
}

beforeAll(async () => {
  t = await testDatabase();
  w = await startTestWadi(t.database, { env: { TRUST_PROXY: 'true' }, role: 'web' });
  // Seven conversations, one minute apart: the newest is "Ana", the oldest two are inactive (> 30 min).
  const people = [
    ['ana', '34600000001', 'Ana García', 'whatsapp', 1],
    ['bob', '34600000002', 'Bob 50% off', 'whatsapp', 2],
    ['carla', '777001', 'Carla', 'telegram', 3],
    ['dani', '34600000004', null, 'whatsapp', 4],
    ['eva', '777005', 'Eva', 'telegram', 5],
    ['fran', '34600000006', 'Fran', 'whatsapp', 45],
    ['gus', '777007', 'Gus', 'telegram', 90],
  ] as const;
  for (const [key, chatId, name, channel, minutesAgo] of people) {
    ids[key] = await seedConversation(t.database, { chatId, name: name ?? undefined, channel, minutesAgo });
  }
});
afterAll(async () => {
  await w?.stop();
  await t?.drop();
});

describe('GET /admin/sessions', () => {
  it('lists conversations newest first with user, channel, activity and counts', async () => {
    const r = await call('/admin/sessions');
    expect(r.status).toBe(200);
    expect(r.body.items.map((s: { id: number }) => s.id)).toEqual(
      ['ana', 'bob', 'carla', 'dani', 'eva', 'fran', 'gus'].map((k) => ids[k]),
    );
    expect(r.body.nextCursor).toBeNull();
    expect(r.body.items[0]).toMatchObject({
      channel: 'whatsapp',
      chatId: '34600000001',
      displayName: 'Ana García',
      messagesIn: 0,
      messagesOut: 0,
      paused: false,
      blocked: false,
      active: true,
    });
    expect(Date.parse(r.body.items[0].lastSeenAt)).toBeGreaterThan(Date.now() - 5 * 60_000);
    expect(r.body.items[5].active).toBe(false);
  });

  it('pages with a cursor without skipping or repeating, including equal timestamps', async () => {
    // Two conversations with the very same last_seen_at: the id breaks the tie.
    await t.database.query(
      `update conversations set last_seen_at = (select last_seen_at from conversations where id = $1) where id = $2`,
      [ids.carla, ids.dani],
    );
    const seen: number[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const r = await call(`/admin/sessions?limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      expect(r.status).toBe(200);
      expect(r.body.items.length).toBeLessThanOrEqual(3);
      seen.push(...r.body.items.map((s: { id: number }) => s.id));
      cursor = r.body.nextCursor;
      pages++;
    } while (cursor && pages < 10);
    expect(pages).toBe(3);
    expect(new Set(seen).size).toBe(7);
    expect(seen).toHaveLength(7);
  });

  it('filters by activity, channel and search text (name, chat id; wildcards are literal)', async () => {
    const active = await call('/admin/sessions?active=true');
    expect(active.body.items.map((s: { id: number }) => s.id)).not.toContain(ids.fran);
    expect(active.body.items).toHaveLength(5);
    const inactive = await call('/admin/sessions?active=false');
    expect(inactive.body.items.map((s: { id: number }) => s.id).sort()).toEqual([ids.fran, ids.gus].sort());
    const tg = await call('/admin/sessions?channel=telegram');
    expect(tg.body.items.every((s: { channel: string }) => s.channel === 'telegram')).toBe(true);
    expect(tg.body.items).toHaveLength(3);
    const byName = await call(`/admin/sessions?q=${encodeURIComponent('garcía')}`);
    expect(byName.body.items.map((s: { id: number }) => s.id)).toEqual([ids.ana]);
    const byChat = await call('/admin/sessions?q=600000004');
    expect(byChat.body.items.map((s: { id: number }) => s.id)).toEqual([ids.dani]);
    const pct = await call(`/admin/sessions?q=${encodeURIComponent('50%')}`);
    expect(pct.body.items.map((s: { id: number }) => s.id)).toEqual([ids.bob]);
    const none = await call(`/admin/sessions?q=${encodeURIComponent('_')}`);
    expect(none.body.items).toEqual([]);
  });

  it('rejects a forged cursor and bad filters with 400', async () => {
    expect((await call('/admin/sessions?cursor=not-a-cursor')).body.error.code).toBe('bad_request');
    const bad = await call('/admin/sessions?channel=sms');
    expect(bad.status).toBe(400);
    expect(bad.body).toEqual({ error: { code: 'bad_request', message: expect.stringContaining('channel') } });
    expect((await call('/admin/sessions?limit=0')).status).toBe(400);
  });
});

describe('GET /admin/sessions/:id/messages', () => {
  it('merges inbound and outbound by time, each with its stage timeline and failure reason', async () => {
    const chat = '34600000001';
    const c = ids.ana;
    const in1 = await seedInbound(t.database, { conversationId: c, chatId: chat, text: 'Hola', secondsAgo: 60 });
    const out1 = await seedOutbound(t.database, {
      conversationId: c,
      chatId: chat,
      inboxId: in1,
      text: '¡Hola! ¿En qué te ayudo?',
      status: 'read',
      secondsAgo: 59,
    });
    const in2 = await seedInbound(t.database, { conversationId: c, chatId: chat, text: '¿Horario?', secondsAgo: 30 });
    const out2 = await seedOutbound(t.database, {
      conversationId: c,
      chatId: chat,
      inboxId: in2,
      text: 'De 9 a 18.',
      status: 'failed',
      failureReason: 'window_closed',
      secondsAgo: 29,
    });
    const r = await call(`/admin/sessions/${c}/messages`);
    expect(r.status).toBe(200);
    expect(r.body.session).toMatchObject({ id: c, messagesIn: 2, messagesOut: 2 });
    expect(r.body.messages.map((m: { direction: string; id: number }) => `${m.direction}${m.id}`)).toEqual([
      `in${in1}`,
      `out${out1}`,
      `in${in2}`,
      `out${out2}`,
    ]);
    const [first, reply, , failed] = r.body.messages;
    expect(first).toMatchObject({ text: 'Hola', status: 'done', kind: 'text' });
    expect(first.timeline.map((s: { stage: string }) => s.stage)).toEqual([
      'received',
      'claimed',
      'llm_start',
      'llm_end',
      'done',
    ]);
    expect(reply).toMatchObject({ text: '¡Hola! ¿En qué te ayudo?', status: 'read', relatedId: in1, part: 0 });
    expect(reply.timeline.map((s: { stage: string }) => s.stage)).toEqual(['created', 'sent', 'delivered', 'read']);
    expect(failed).toMatchObject({ status: 'failed', failureReason: 'window_closed' });
    expect(failed.timeline.map((s: { stage: string }) => s.stage)).toEqual(['created', 'failed']);
    const audit = await auditRows('session.read_messages');
    expect(audit.at(-1)).toMatchObject({ target: `conversation:${c}`, key_fingerprint: fingerprint });
  });

  it('answers 404 for an unknown conversation and 400 for a bad id', async () => {
    const r = await call('/admin/sessions/999999/messages');
    expect(r.status).toBe(404);
    expect(r.body.error.code).toBe('not_found');
    expect((await call('/admin/sessions/abc/messages')).status).toBe(400);
  });
});

describe('session actions', () => {
  it('pause and resume set the flag the conversation engine obeys, and are audited without the key', async () => {
    const p = await call(`/admin/sessions/${ids.bob}/pause`, { method: 'POST' });
    expect(p.status).toBe(200);
    expect(p.body.session).toMatchObject({ id: ids.bob, paused: true });
    const row = await t.database.query<{ paused: boolean }>('select paused from conversations where id = $1', [
      ids.bob,
    ]);
    expect(row.rows[0].paused).toBe(true);
    expect((await call(`/admin/sessions?q=${encodeURIComponent('50%')}`)).body.items[0].paused).toBe(true);

    const r = await call(`/admin/sessions/${ids.bob}/resume`, { method: 'POST' });
    expect(r.body.session.paused).toBe(false);
    const after = await t.database.query<{ paused: boolean }>('select paused from conversations where id = $1', [
      ids.bob,
    ]);
    expect(after.rows[0].paused).toBe(false);

    const rows = [...(await auditRows('session.pause')), ...(await auditRows('session.resume'))];
    expect(rows).toHaveLength(2);
    for (const a of rows) {
      expect(a).toMatchObject({ key_fingerprint: fingerprint, target: `conversation:${ids.bob}` });
      expect(a.ip).toMatch(/^10\./);
      expect(a.at).toBeTruthy();
      expect(JSON.stringify(a)).not.toContain(TEST_ADMIN_KEY);
    }
  });

  it('reset sets context_reset_at to now', async () => {
    const r = await call(`/admin/sessions/${ids.carla}/reset`, { method: 'POST' });
    expect(r.status).toBe(200);
    expect(Math.abs(Date.parse(r.body.session.contextResetAt) - Date.now())).toBeLessThan(60_000);
    expect(await auditRows('session.reset')).toHaveLength(1);
  });

  it('answers 404 for an unknown conversation and changes nothing', async () => {
    const before = (await auditRows('session.pause')).length;
    expect((await call('/admin/sessions/999999/pause', { method: 'POST' })).status).toBe(404);
    expect(await auditRows('session.pause')).toHaveLength(before);
  });
});

describe('dead letters', () => {
  it('lists dead inbox messages and replays one: pending, attempts 0, available now; 409 when not dead', async () => {
    const c = ids.eva;
    const dead1 = await seedInbound(t.database, {
      conversationId: c,
      chatId: '777005',
      channel: 'telegram',
      text: 'lost?',
      status: 'dead',
      attempts: 8,
      lastError: 'llm timeout',
      secondsAgo: 100,
    });
    const dead2 = await seedInbound(t.database, {
      conversationId: c,
      chatId: '777005',
      channel: 'telegram',
      text: 'again',
      status: 'dead',
      attempts: 8,
      lastError: 'llm timeout',
      secondsAgo: 50,
    });
    const page1 = await call('/admin/dead-letters?limit=1');
    expect(page1.status).toBe(200);
    expect(page1.body.items).toEqual([
      expect.objectContaining({ id: dead2, text: 'again', attempts: 8, lastError: 'llm timeout', channel: 'telegram' }),
    ]);
    const page2 = await call(`/admin/dead-letters?limit=1&cursor=${page1.body.nextCursor}`);
    expect(page2.body.items.map((d: { id: number }) => d.id)).toEqual([dead1]);
    expect(page2.body.nextCursor).toBeNull();

    const woken: number[][] = [];
    w.wadi.wiring.inboxEvents.on('committed', (x: number[]) => woken.push(x));
    const r = await call(`/admin/messages/${dead1}/replay`, { method: 'POST' });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ id: dead1, status: 'pending' });
    expect(woken).toContainEqual([dead1]);
    const { rows } = await t.database.query<{ status: string; attempts: number; due: boolean }>(
      'select status, attempts, available_at <= now() as due from inbox_messages where id = $1',
      [dead1],
    );
    expect(rows[0]).toEqual({ status: 'pending', attempts: 0, due: true });
    expect((await call('/admin/dead-letters')).body.items.map((d: { id: number }) => d.id)).toEqual([dead2]);

    const again = await call(`/admin/messages/${dead1}/replay`, { method: 'POST' });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('not_dead');
    expect((await call('/admin/messages/999999/replay', { method: 'POST' })).status).toBe(404);
    const audit = await auditRows('message.replay');
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ target: `inbox:${dead1}`, key_fingerprint: fingerprint });
  });
});
