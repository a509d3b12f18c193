import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestDb, testDatabase } from '../../test/helpers/db.ts';
import { LogCapture } from '../../test/helpers/wadi.ts';
import { createLogger } from '../observability/logging/logger.ts';
import { describeDataError, isDataError } from './errors.ts';

const CONTENT = 'private-message-text-4711';

describe('database errors in logs', () => {
  let t: TestDb;
  beforeAll(async () => {
    t = await testDatabase();
  });
  afterAll(async () => {
    await t?.drop();
  });

  /** The error PostgreSQL raises for `value` cast to `type`. */
  async function refusal(sql: string, value: string): Promise<unknown> {
    try {
      await t.database.query(sql, [value]);
    } catch (err) {
      return err;
    }
    throw new Error('expected the database to refuse the value');
  }

  it.each([
    ['a NUL in jsonb', 'select $1::jsonb', `{"text":"${CONTENT} \\u0000"}`],
    ['a lone surrogate in jsonb', 'select $1::jsonb', `{"text":"${CONTENT} \\udc00"}`],
    ['a bad timestamp', 'select $1::timestamptz', `${CONTENT}-99-99`],
    ['invalid JSON', 'select $1::jsonb', `{"text": ${CONTENT}}`],
  ])('never carry the refused value (%s) into a log line or /admin/logs', async (_name, sql, value) => {
    const err = await refusal(sql, value);
    expect(isDataError(err)).toBe(true);
    expect(describeDataError(err)).toMatch(/^22\w{3} [a-z_]+$/);
    const logs = new LogCapture();
    const kit = createLogger({ level: 'info', format: 'json', destination: logs, ringSize: 10 });
    kit.logger.error({ err }, 'could not store');
    const line = logs.text();
    expect(line).toContain('could not store');
    expect(line).toContain((err as { code: string }).code);
    expect(line).not.toContain(CONTENT);
    const ring = JSON.stringify(kit.ring.recent({}));
    expect(ring).toContain('could not store');
    expect(ring).not.toContain(CONTENT);
  });

  it('keeps identifiers in messages of errors that are not about data', async () => {
    const err = await refusal('select * from no_such_table where $1 = $1', 'x').catch((e) => e);
    const logs = new LogCapture();
    createLogger({ level: 'info', format: 'json', destination: logs }).logger.error({ err }, 'bug');
    expect(logs.text()).toContain('relation \\"no_such_table\\" does not exist');
  });
});
