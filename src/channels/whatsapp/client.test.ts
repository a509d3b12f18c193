import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { freePort } from '../../../test/helpers/cli.ts';
import { type TestDb, testDatabase } from '../../../test/helpers/db.ts';
import { startTestWadi, type TestWadi } from '../../../test/helpers/wadi.ts';
import { SANDBOX_CREDENTIALS } from '../../config/config.ts';
import { type ChannelError, PermanentSendError, RetryableSendError } from '../errors.ts';
import type { ChannelSender } from '../types.ts';
import { classifyGraphError, GraphClient, parseRetryAfter } from './client.ts';
import { graphApiCheck } from './health.ts';

const USER = '5215512345678';

interface Call {
  kind: string;
  status: number;
  body: Record<string, unknown>;
  platformMessageId?: string;
  path: string;
}

describe('Graph API client against the sandbox fake (real HTTP)', () => {
  let t: TestDb;
  let w: TestWadi;
  let sender: ChannelSender;
  beforeAll(async () => {
    t = await testDatabase();
    w = await startTestWadi(t.database);
    sender = w.wadi.wiring.senders.get('whatsapp') as ChannelSender;
  });
  afterAll(async () => {
    await w?.stop();
    await t?.drop();
  });
  beforeEach(async () => {
    await fetch(`${w.url}/sandbox/faults`, { method: 'DELETE' });
  });

  const calls = async (): Promise<Call[]> =>
    ((await (await fetch(`${w.url}/sandbox/outbox?channel=whatsapp`)).json()) as { calls: Call[] }).calls;
  const fault = async (f: Record<string, unknown>) => {
    const res = await fetch(`${w.url}/sandbox/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ channel: 'whatsapp', ...f }),
    });
    expect(res.status).toBe(201);
  };
  const failure = async (p: Promise<unknown>): Promise<ChannelError> => {
    try {
      await p;
    } catch (err) {
      return err as ChannelError;
    }
    throw new Error('expected the send to fail');
  };
  const client = (opts: { token?: string; timeoutMs?: number; base?: string } = {}) =>
    new GraphClient({
      baseUrl: () => opts.base ?? `${w.url}/sandbox/graph`,
      graphVersion: 'v24.0',
      phoneNumberId: SANDBOX_CREDENTIALS.whatsappPhoneNumberId,
      accessToken: opts.token ?? SANDBOX_CREDENTIALS.whatsappAccessToken,
      timeoutMs: opts.timeoutMs,
    });

  it('sends text with Meta’s body shape, a reply context and a link preview, and gets a wamid', async () => {
    const r = await sender.send({ chatId: USER, text: 'mira https://example.com', replyTo: 'wamid.IN1' });
    expect(r.platformMessageId).toMatch(/^wamid\.[A-Za-z0-9+/=]{20,}$/);
    const last = (await calls()).at(-1) as Call;
    expect(last).toMatchObject({
      kind: 'send_text',
      status: 200,
      platformMessageId: r.platformMessageId,
      path: `/sandbox/graph/v24.0/${SANDBOX_CREDENTIALS.whatsappPhoneNumberId}/messages`,
      body: {
        messaging_product: 'whatsapp',
        recipient_type: 'individual',
        to: USER,
        type: 'text',
        text: { body: 'mira https://example.com', preview_url: true },
        context: { message_id: 'wamid.IN1' },
      },
    });
    await sender.send({ chatId: USER, text: 'sin enlace' });
    expect((await calls()).at(-1)?.body).toMatchObject({ text: { preview_url: false } });
    expect((await calls()).at(-1)?.body.context).toBeUndefined();
  });

  it('marks as read and shows typing; typing never throws', async () => {
    await client().markRead('wamid.IN2');
    await sender.typing(USER, 'wamid.IN3');
    await sender.typing(USER); // nothing to attach the indicator to: no call
    const [read, typing] = (await calls()).slice(-2);
    expect(read).toMatchObject({ kind: 'mark_read', body: { status: 'read', message_id: 'wamid.IN2' } });
    expect(typing).toMatchObject({
      kind: 'typing',
      body: { status: 'read', message_id: 'wamid.IN3', typing_indicator: { type: 'text' } },
    });
    await fault({ code: 131000, kind: 'typing' });
    await expect(sender.typing(USER, 'wamid.IN4')).resolves.toBeUndefined();
  });

  it('splits long replies into parts the fake accepts, and the fake refuses over 4096', async () => {
    const para = `${'palabra '.repeat(300).trim()}.`;
    const text = Array.from({ length: 5 }, () => para).join('\n\n');
    const parts = sender.split(text);
    expect(parts.length).toBeGreaterThan(1);
    for (const p of parts) {
      expect(p.length).toBeLessThanOrEqual(4096);
      await sender.send({ chatId: USER, text: p });
    }
    const err = await failure(sender.send({ chatId: USER, text: 'x'.repeat(4097) }));
    expect(err).toBeInstanceOf(PermanentSendError);
    expect(err).toMatchObject({ code: '100', reason: 'bad_request' });
  });

  it('classifies injected Meta errors by code, not HTTP status', async () => {
    const cases: [Record<string, unknown>, 'retry' | string, number?][] = [
      [{ code: 130429, retry_after: 7 }, 'retry', 7000],
      [{ code: 131056 }, 'retry', 6000],
      [{ code: 4 }, 'retry'],
      [{ code: 80007 }, 'retry'],
      [{ code: 131000 }, 'retry'],
      [{ code: 131016 }, 'retry'],
      [{ status: 502 }, 'retry'],
      [{ code: 131047 }, 'window_closed'],
      [{ code: 131026 }, 'undeliverable'],
      [{ code: 131051 }, 'unsupported'],
      [{ code: 100 }, 'bad_request'],
      [{ code: 190 }, 'auth'],
    ];
    for (const [f, expected, retryMs] of cases) {
      await fault(f);
      const err = await failure(sender.send({ chatId: USER, text: 'hola' }));
      const label = JSON.stringify(f);
      if (expected === 'retry') {
        expect(err, label).toBeInstanceOf(RetryableSendError);
        if (retryMs) expect((err as RetryableSendError).retryAfterMs, label).toBe(retryMs);
      } else {
        expect(err, label).toBeInstanceOf(PermanentSendError);
        expect((err as PermanentSendError).reason, label).toBe(expected);
      }
      if (f.code) expect(err.code, label).toBe(String(f.code));
    }
    // Throttling arrives as HTTP 400 from Meta; the fake does the same.
    const throttled = (await calls()).find((c) => c.status === 400 && c.kind === 'send_text');
    expect(throttled).toBeDefined();
    // 190 is an operator problem: logged at error level, without the token.
    const rec = w.logs.records().find((r) => String(r.msg).includes('WHATSAPP_ACCESS_TOKEN'));
    expect(rec?.level).toBe('error');
    expect(w.logs.text()).not.toContain(SANDBOX_CREDENTIALS.whatsappAccessToken);
  });

  it('treats timeouts and network errors as retryable', async () => {
    await fault({ delay_ms: 1500 });
    const slow = await failure(client({ timeoutMs: 200 }).sendText(USER, 'hola'));
    expect(slow).toBeInstanceOf(RetryableSendError);
    expect(slow.code).toBe('timeout');
    const closed = await freePort();
    const down = await failure(client({ base: `http://127.0.0.1:${closed}` }).sendText(USER, 'hola'));
    expect(down).toBeInstanceOf(RetryableSendError);
    expect(down.code).toBe('network');
    await fault({ delay_ms: 50 }); // a slow success is still a success
    await expect(client().sendText(USER, 'hola')).resolves.toMatch(/^wamid\./);
  });

  it('reports the Graph API in /admin/health checks: pass, fail on a bad token, warn on outages, cached', async () => {
    const registered = w.wadi.wiring.admin.dependencyChecks?.find((c) => c.name === 'whatsapp:graphApi');
    expect(await registered?.run()).toMatchObject({ status: 'pass', observedUnit: 'ms' });
    expect((await calls()).at(-1)).toMatchObject({ kind: 'phone_number', status: 200 });
    expect(await graphApiCheck(client({ token: 'expired' }), { ttlMs: 0 }).run()).toMatchObject({
      status: 'fail',
      output: 'access token or permissions rejected (code 190)',
    });
    let t = 0;
    const check = graphApiCheck(client(), { ttlMs: 1000, now: () => t });
    await fault({ kind: 'phone_number', status: 503 });
    expect((await check.run()).status).toBe('warn');
    t = 500; // within the TTL: Meta is not asked again
    const before = (await calls()).length;
    expect((await check.run()).status).toBe('warn');
    expect((await calls()).length).toBe(before);
    t = 1500;
    expect((await check.run()).status).toBe('pass');
  });

  it('the fake validates like Meta: wrong token, missing fields, malformed JSON', async () => {
    const bad = await failure(client({ token: 'nope' }).sendText(USER, 'hola'));
    expect(bad).toMatchObject({ code: '190', reason: 'auth' });
    const url = `${w.url}/sandbox/graph/v24.0/${SANDBOX_CREDENTIALS.whatsappPhoneNumberId}/messages`;
    const headers = {
      authorization: `Bearer ${SANDBOX_CREDENTIALS.whatsappAccessToken}`,
      'content-type': 'application/json',
    };
    for (const body of [
      { messaging_product: 'whatsapp', type: 'text', text: { body: 'x' } },
      { messaging_product: 'whatsapp', to: USER, type: 'text' },
      { to: USER, type: 'text', text: { body: 'x' } },
      { messaging_product: 'whatsapp', status: 'read' },
    ]) {
      const res = await fetch(url, { method: 'POST', headers, body: JSON.stringify(body) });
      expect(res.status).toBe(400);
      const json = (await res.json()) as { error: { code: number; message: string; fbtrace_id: string } };
      expect(json.error.code).toBe(100);
      expect(json.error.message).toMatch(/^\(#100\) /);
      expect(json.error.fbtrace_id).toBeTruthy();
    }
    const malformed = await fetch(url, { method: 'POST', headers, body: '{"messaging_product":' });
    expect(malformed.status).toBe(400);
    expect(((await malformed.json()) as { error: { code: number } }).error.code).toBe(100);
  });
});

describe('classifyGraphError', () => {
  it('uses the code when there is one, and the HTTP status only when there is none', () => {
    expect(classifyGraphError(400, { error: { code: 130429 } })).toBeInstanceOf(RetryableSendError);
    expect(classifyGraphError(500, { error: { code: 131047 } })).toBeInstanceOf(PermanentSendError);
    expect(classifyGraphError(503, undefined)).toBeInstanceOf(RetryableSendError);
    expect(classifyGraphError(503, '<html>')).toMatchObject({ code: 'http_503' });
    expect(classifyGraphError(403, { error: { code: 200 } })).toMatchObject({ reason: 'auth' });
    expect(classifyGraphError(400, { error: { code: 99999 } })).toMatchObject({ reason: 'permanent' });
    expect(
      classifyGraphError(400, {
        error: { code: 131047, message: '(#131047) Re-engagement message', error_data: { details: 'window' } },
      }),
    ).toMatchObject({ title: '(#131047) Re-engagement message', detail: 'window', reason: 'window_closed' });
  });
  it('reads Retry-After as seconds or an HTTP date', () => {
    expect(parseRetryAfter('3')).toBe(3000);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4000)).toBe(6000);
    expect(parseRetryAfter('soon')).toBeUndefined();
  });
});
