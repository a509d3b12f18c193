/**
 * The history window read for many turns at once (HistoryLoader) is the one loadHistory reads for
 * each: same rows and order, the same /reset and token budget cut, in one statement per tick.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, type TestDb, testDatabase } from '../../test/helpers/db.ts';
import type { Queryable } from '../db/client.ts';
import { resetContext } from '../db/conversations.ts';
import { appendHistory, HistoryLoader, loadHistory } from './history.ts';

describe.each(backends())('history windows (%s)', (backend) => {
  let t: TestDb;
  beforeAll(async () => {
    t = await testDatabase(backend);
  });
  afterAll(async () => t?.drop());

  async function conversation(chat: string): Promise<number> {
    const { rows } = await t.database.query<{ id: number }>(
      `insert into conversations (channel, chat_id, user_id) values ('telegram', $1, $1) returning id`,
      [chat],
    );
    return Number(rows[0].id);
  }

  it('reads the windows of concurrent turns in one statement, each exactly as loadHistory does', async () => {
    const ids: number[] = [];
    for (let i = 0; i < 5; i++) ids.push(await conversation(`h-${i}`));
    // 0: several turns; 1: none; 2: reset after its first turn; 3: longer than the budget; 4: one turn.
    await appendHistory(t.database, ids[0], [
      { role: 'user', content: 'hola' },
      { role: 'assistant', content: '¡Hola! ¿En qué te ayudo?' },
      { role: 'user', content: 'horarios' },
      { role: 'assistant', content: 'De 9 a 18.' },
    ]);
    await appendHistory(t.database, ids[2], [
      { role: 'user', content: 'antes' },
      { role: 'assistant', content: 'olvidado' },
    ]);
    await resetContext(t.database, ids[2]);
    // The window keeps rows stamped after the reset. PGlite's clock is coarse enough that the very
    // next statement can share the reset's instant (no user's next message ever does): wait it out.
    await expect
      .poll(
        async () =>
          (
            await t.database.query<{ moved: boolean }>(
              'select clock_timestamp() > context_reset_at as moved from conversations where id = $1',
              [ids[2]],
            )
          ).rows[0]?.moved,
      )
      .toBe(true);
    await appendHistory(t.database, ids[2], [{ role: 'user', content: 'después' }]);
    await appendHistory(
      t.database,
      ids[3],
      Array.from({ length: 30 }, (_, i) => ({
        role: i % 2 ? ('assistant' as const) : ('user' as const),
        content: `${i} ${'palabra '.repeat(20)}`,
      })),
    );
    await appendHistory(t.database, ids[4], [{ role: 'user', content: 'solo' }]);
    let statements = 0;
    const counted: Queryable = {
      query: (text, params) => {
        statements++;
        return t.database.query(text, params);
      },
    } as Queryable;
    const loader = new HistoryLoader(counted);
    const budget = 200;
    const together = await Promise.all(ids.map((id) => loader.load(id, budget)));
    expect(statements).toBe(1);
    const alone = [];
    for (const id of ids) alone.push(await loadHistory(t.database, id, budget));
    expect(together).toEqual(alone);
    expect(together[0].map((m) => m.content)).toEqual(['hola', '¡Hola! ¿En qué te ayudo?', 'horarios', 'De 9 a 18.']);
    expect(together[1]).toEqual([]);
    expect(together[2].map((m) => m.content)).toEqual(['después']);
    expect(together[3].length).toBeGreaterThan(0);
    expect(together[3].length).toBeLessThan(30);
    // A later tick is a new statement.
    expect(await loader.load(ids[4], budget)).toEqual([{ role: 'user', content: 'solo' }]);
    expect(statements).toBe(2);
  });
});
