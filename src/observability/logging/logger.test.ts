import { describe, expect, it } from 'vitest';
import { LogCapture } from '../../../test/helpers/wadi.ts';
import { createLogger, makeScrubber } from './logger.ts';

describe('logger', () => {
  it('scrubs configured secrets wherever they appear, raw, JSON-escaped or URL-encoded', () => {
    const out = new LogCapture();
    const secret = '123456:ABC/def"ghi';
    const { logger, ring } = createLogger({ level: 'info', format: 'json', secrets: [secret], destination: out });
    logger.info({ url: `https://api.telegram.org/bot${secret}/sendMessage` }, `calling ${secret}`);
    logger.error({ err: new Error(`failed for ${encodeURIComponent(secret)}`) }, 'boom');
    expect(out.text()).not.toContain('ABC/def');
    expect(out.text()).not.toContain(encodeURIComponent(secret));
    expect(out.text()).toContain('[redacted]');
    expect(JSON.stringify(ring.recent())).not.toContain('ABC/def');
  });

  it('redacts credential headers by key', () => {
    const out = new LogCapture();
    const { logger } = createLogger({ level: 'info', format: 'json', destination: out });
    logger.info({
      req: { headers: { authorization: 'Bearer xyz', 'x-admin-key': 'k', 'x-hub-signature-256': 'sha256=1' } },
    });
    const rec = out.records()[0] as { req: { headers: Record<string, string> } };
    expect(rec.req.headers.authorization).toBe('[redacted]');
    expect(rec.req.headers['x-admin-key']).toBe('[redacted]');
    expect(rec.req.headers['x-hub-signature-256']).toBe('[redacted]');
  });

  it('keeps a bounded ring of recent records, filterable by level', () => {
    const { logger, ring } = createLogger({
      level: 'debug',
      format: 'json',
      ringSize: 10,
      destination: new LogCapture(),
    });
    for (let i = 0; i < 25; i++) logger.info({ i }, 'n');
    logger.warn('careful');
    const all = ring.recent({ limit: 100 });
    expect(all).toHaveLength(10);
    expect(all.at(-1)?.msg).toBe('careful');
    expect(ring.recent({ minLevel: 'warn' }).map((r) => r.msg)).toEqual(['careful']);
    expect(ring.recent({ limit: 3 })).toHaveLength(3);
  });

  it('leaves lines alone when there is nothing to scrub', () => {
    expect(makeScrubber([])('a line')).toBe('a line');
    expect(makeScrubber(['short'])('short')).toBe('short');
  });
});
