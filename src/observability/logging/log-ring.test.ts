import { describe, expect, it } from 'vitest';
import { isSandboxRecord, LogRing } from './log-ring.ts';

const line = (r: Record<string, unknown>) => JSON.stringify({ level: 'info', time: new Date().toISOString(), ...r });

function ring(): LogRing {
  const r = new LogRing(50);
  r.pushLine(line({ msg: 'request', route: '/webhooks/whatsapp', statusCode: 200 }));
  r.pushLine(line({ msg: 'request', route: '/sandbox/graph/:version/:phoneNumberId/messages', statusCode: 200 }));
  r.pushLine(line({ msg: 'request', route: 'unknown', url: '/sandbox/nope', statusCode: 404 }));
  r.pushLine(line({ msg: 'request', route: 'unknown', url: '/wp-login.php', statusCode: 404 }));
  r.pushLine(line({ level: 'debug', msg: 'turn committed', conversationId: 7, inboxIds: [1, 2] }));
  r.pushLine(line({ level: 'warn', msg: 'send retried', conversationId: 17 }));
  r.pushLine(line({ msg: 'no operator activity', conversationIds: [3, 7] }));
  r.pushLine(line({ msg: 'Ünïcödé 😀 \u0000 marker', detail: 'ÉSTE' }));
  r.pushLine('not json at all \ud800');
  return r;
}

describe('log ring filters', () => {
  it("hides the sandbox fakes' own requests unless asked, and counts what it hid", () => {
    const r = ring();
    const q = r.query({ limit: 100 });
    expect(q.records.map((x) => x.route ?? x.msg)).not.toContain('/sandbox/graph/:version/:phoneNumberId/messages');
    expect(q.records.some((x) => x.url === '/sandbox/nope')).toBe(false);
    expect(q.hiddenSandbox).toBe(2);
    const all = r.query({ limit: 100, sandbox: true });
    expect(all.records).toHaveLength(8);
    expect(all.hiddenSandbox).toBe(0);
    expect(isSandboxRecord({ level: 'info', time: '', route: '/admin/sandbox/send' })).toBe(false);
  });

  it('filters by route, by conversation (one id or a list) and by text in any field, any case', () => {
    const r = ring();
    expect(r.query({ route: '/webhooks/whatsapp' }).records.map((x) => x.route)).toEqual(['/webhooks/whatsapp']);
    expect(r.query({ conversationId: 7 }).records.map((x) => x.msg)).toEqual([
      'turn committed',
      'no operator activity',
    ]);
    // 17 is not 7 (no substring match on ids).
    expect(r.query({ conversationId: 17 }).records.map((x) => x.msg)).toEqual(['send retried']);
    expect(r.query({ text: 'WP-LOGIN' }).records.map((x) => x.url)).toEqual(['/wp-login.php']);
    expect(r.query({ text: 'éste' }).records.map((x) => x.msg)).toEqual(['Ünïcödé 😀 \u0000 marker']);
    expect(r.query({ text: '😀' }).records).toHaveLength(1);
    expect(r.query({ text: '   ' }).records).toHaveLength(6);
    // Filters combine: level, then conversation.
    expect(r.query({ minLevel: 'info', conversationId: 7 }).records.map((x) => x.msg)).toEqual([
      'no operator activity',
    ]);
  });

  it('lists the routes in the buffer for the page to offer, whatever the filter', () => {
    const q = ring().query({ limit: 1, text: 'nothing matches this' });
    expect(q.records).toEqual([]);
    expect(q.routes).toEqual(['/sandbox/graph/:version/:phoneNumberId/messages', '/webhooks/whatsapp', 'unknown']);
  });
});
