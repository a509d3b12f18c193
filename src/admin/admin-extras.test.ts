import { createHmac, timingSafeEqual } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifyPluginAsync } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminClient } from '../../test/helpers/admin.ts';
import { type TestDb, testDatabase } from '../../test/helpers/db.ts';
import { startTestWadi, type TestWadi, testConfig } from '../../test/helpers/wadi.ts';
import { createWadi, FEATURES } from '../app/wadi.ts';
import type { ModuleFactory } from '../platform/context.ts';
import type { SandboxState } from '../sandbox/state.ts';

/** Stand-in webhooks that check what the channel helpers' real ones check: the HMAC on the raw bytes, the secret. */
interface Received {
  channel: string;
  raw: string;
  headers: Record<string, unknown>;
}
const received: Received[] = [];
const fakeWebhooks: ModuleFactory = (ctx) => {
  const plugin: FastifyPluginAsync = async (app) => {
    app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => done(null, body));
    app.post('/webhooks/whatsapp', async (req, reply) => {
      const raw = req.body as string;
      const expected = Buffer.from(
        `sha256=${createHmac('sha256', ctx.config.whatsapp!.appSecret).update(raw).digest('hex')}`,
      );
      const got = Buffer.from(String(req.headers['x-hub-signature-256'] ?? ''));
      if (got.length !== expected.length || !timingSafeEqual(got, expected)) return reply.status(401).send();
      received.push({ channel: 'whatsapp', raw, headers: req.headers });
      return raw.includes('fail-please') ? reply.status(500).send() : { ok: true };
    });
    app.post('/webhooks/telegram', async (req, reply) => {
      if (req.headers['x-telegram-bot-api-secret-token'] !== ctx.config.telegram!.webhookSecret) {
        return reply.status(401).send();
      }
      received.push({ channel: 'telegram', raw: req.body as string, headers: req.headers });
      return { ok: true };
    });
  };
  return { name: 'fake-webhooks', plugins: [plugin] };
};

let t: TestDb;
let w: TestWadi;
const call = adminClient(() => w.url);

beforeAll(async () => {
  t = await testDatabase();
  w = await startTestWadi(t.database, {
    env: { TRUST_PROXY: 'true' },
    features: FEATURES.filter((f) => f !== 'whatsapp' && f !== 'telegram'),
    extraModules: [fakeWebhooks],
  });
});
afterAll(async () => {
  await w?.stop();
  await t?.drop();
});

describe('GET /admin/openapi.json', () => {
  it('needs the key and documents every admin route with the x-admin-key scheme and valid schemas', async () => {
    expect((await call('/admin/openapi.json', { key: null })).status).toBe(401);
    const r = await call('/admin/openapi.json');
    expect(r.status).toBe(200);
    const doc = r.body;
    expect(doc.openapi).toBe('3.0.3');
    expect(doc.components.securitySchemes.adminKey).toEqual({ type: 'apiKey', in: 'header', name: 'x-admin-key' });
    expect(doc.security).toEqual([{ adminKey: [] }]);
    const expected: [string, string][] = [
      ['get', '/admin/health'],
      ['get', '/admin/logs'],
      ['get', '/admin/sessions'],
      ['get', '/admin/sessions/{id}/messages'],
      ['post', '/admin/sessions/{id}/reset'],
      ['post', '/admin/sessions/{id}/pause'],
      ['post', '/admin/sessions/{id}/resume'],
      ['get', '/admin/dead-letters'],
      ['post', '/admin/messages/{id}/replay'],
      ['get', '/admin/stats'],
      ['get', '/admin/alerts'],
      ['get', '/admin/queues'],
      ['get', '/admin/info'],
      ['post', '/admin/sandbox/send'],
      ['post', '/admin/sandbox/media'],
      ['get', '/admin/sandbox/replies'],
      ['post', '/admin/sessions/{id}/messages'],
      ['post', '/admin/sessions/{id}/template'],
      ['post', '/admin/sessions/{id}/answer'],
      ['get', '/admin/status'],
      ['get', '/admin/failures'],
      ['delete', '/admin/users/{channel}/{id}'],
      ['get', '/admin/knowledge'],
    ];
    for (const [method, p] of expected) expect(doc.paths[p]?.[method], `${method} ${p}`).toBeDefined();
    // Only the API: not the dashboard's files, not the document itself, nothing outside /admin.
    expect(Object.keys(doc.paths).sort()).toEqual([...new Set(expected.map(([, p]) => p))].sort());
    // With the formats the API documents (date-time…), so a schema using an unknown one fails here.
    const ajv = addFormats.default(new Ajv({ strict: true, strictTypes: false, strictTuples: false }));
    const operationIds: string[] = [];
    type Operation = {
      operationId: string;
      responses: Record<string, { content?: Record<string, { schema?: object }> }>;
    };
    for (const [p, ops] of Object.entries(doc.paths as Record<string, Record<string, Operation>>)) {
      for (const [method, op] of Object.entries(ops)) {
        operationIds.push(op.operationId);
        // A success answer: 200, 201 for what is stored (a Try it file), or 202 for what is queued
        // (operator replies and templates).
        expect(op.responses['200'] ?? op.responses['201'] ?? op.responses['202'], `${method} ${p} 2xx`).toBeDefined();
        expect(op.responses['401'], `${method} ${p} 401`).toBeDefined();
        for (const res of Object.values(op.responses)) {
          const schema = res.content?.['application/json']?.schema;
          if (schema) expect(() => ajv.compile(schema)).not.toThrow();
        }
      }
    }
    // Retool and Appsmith name their queries after these.
    expect(operationIds.every((x) => /^[a-z][A-Za-z]+$/.test(x))).toBe(true);
    expect(new Set(operationIds).size).toBe(expected.length);
  });
});

describe('sandbox: Try it', () => {
  it('sends a WhatsApp text as Meta would: escaped unicode, signed raw bytes, Meta-shaped payload', async () => {
    const text = 'Hola, ¿qué tal? ñandú 👋 http://x.y/z';
    const r = await call('/admin/sandbox/send', {
      method: 'POST',
      body: { channel: 'whatsapp', from: '34600000009', name: 'Zoë', text },
    });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ channel: 'whatsapp', chat: '34600000009', webhookStatus: 200 });
    expect(r.body.externalId).toMatch(/^wamid\./);
    const got = received.filter((x) => x.channel === 'whatsapp').at(-1)!;
    expect(got.raw).toContain('\\u00f1and\\u00fa \\ud83d\\udc4b');
    expect(got.raw).toContain('http:\\/\\/x.y\\/z');
    expect(/[^\x00-\x7f]/.test(got.raw)).toBe(false);
    const payload = JSON.parse(got.raw);
    expect(payload.object).toBe('whatsapp_business_account');
    const value = payload.entry[0].changes[0].value;
    expect(payload.entry[0].changes[0].field).toBe('messages');
    expect(value.metadata.phone_number_id).toBe(w.wadi.config.whatsapp!.phoneNumberId);
    expect(value.contacts).toEqual([{ profile: { name: 'Zoë' }, wa_id: '34600000009' }]);
    expect(value.messages[0]).toMatchObject({
      from: '34600000009',
      id: r.body.externalId,
      type: 'text',
      text: { body: text },
    });
    expect(value.messages[0].timestamp).toMatch(/^\d{10}$/);
    const audit = await t.database.query('select action, target from audit_log where action = $1', ['sandbox.send']);
    expect(audit.rows).toContainEqual({ action: 'sandbox.send', target: 'whatsapp:34600000009' });
  });

  it('sends a Telegram update with the secret token header and a command entity', async () => {
    const r = await call('/admin/sandbox/send', {
      method: 'POST',
      body: { channel: 'telegram', from: '100200300', name: 'Tomás', text: '/start hola' },
    });
    expect(r.status).toBe(200);
    const got = received.filter((x) => x.channel === 'telegram').at(-1)!;
    const update = JSON.parse(got.raw);
    expect(r.body.externalId).toBe(`update:${update.update_id}`);
    expect(update.message).toMatchObject({
      from: { id: 100200300, is_bot: false, first_name: 'Tomás' },
      chat: { id: 100200300, type: 'private' },
      text: '/start hola',
      entities: [{ type: 'bot_command', offset: 0, length: 6 }],
    });
    const second = await call('/admin/sandbox/send', {
      method: 'POST',
      body: { channel: 'telegram', from: '100200300', name: 'Tomás', text: 'otra' },
    });
    expect(Number(second.body.externalId.split(':')[1])).toBeGreaterThan(update.update_id);
  });

  it('explains a webhook that does not answer 200, and rejects bad input', async () => {
    const r = await call('/admin/sandbox/send', {
      method: 'POST',
      body: { channel: 'whatsapp', from: '34600000009', text: 'fail-please' },
    });
    expect(r.status).toBe(502);
    expect(r.body.error).toEqual({ code: 'webhook_rejected', message: 'the webhook answered 500 instead of 200' });
    for (const body of [
      { channel: 'sms', from: '34600000009', text: 'x' },
      { channel: 'whatsapp', from: 'abc', text: 'x' },
      { channel: 'whatsapp', from: '34600000009', text: '' },
    ]) {
      expect((await call('/admin/sandbox/send', { method: 'POST', body })).status).toBe(400);
    }
  });

  it('lists the texts the fake platform APIs received for one chat, after a sequence number', async () => {
    const state = w.wadi.wiring.sandboxState as SandboxState;
    const base = { method: 'POST', path: '/sandbox/graph/v24.0/1/messages', status: 200 };
    const before = state.record({ ...base, channel: 'whatsapp', kind: 'mark_read', body: { to: '34611111111' } }).seq;
    state.record({
      ...base,
      channel: 'whatsapp',
      kind: 'send_text',
      body: { to: '34611111111', text: { body: 'uno' } },
      platformMessageId: 'wamid.1',
    });
    state.record({
      ...base,
      channel: 'whatsapp',
      kind: 'send_text',
      body: { to: '34622222222', text: { body: 'otro' } },
    });
    state.record({ ...base, channel: 'telegram', kind: 'sendMessage', body: { chat_id: 34611111111, text: 'tg' } });
    const last = state.record({
      ...base,
      channel: 'whatsapp',
      kind: 'send_text',
      body: { to: '34611111111', text: { body: 'dos' } },
    }).seq;
    const r = await call(`/admin/sandbox/replies?channel=whatsapp&chat=34611111111&after=${before}`);
    expect(r.status).toBe(200);
    expect(r.body.replies.map((x: { text: string }) => x.text)).toEqual(['uno', 'dos']);
    expect(r.body.replies[0]).toMatchObject({ status: 200, platformMessageId: 'wamid.1' });
    expect(r.body.lastSeq).toBe(last);
    const tg = await call(`/admin/sandbox/replies?channel=telegram&chat=34611111111&after=${before}`);
    expect(tg.body.replies.map((x: { text: string }) => x.text)).toEqual(['tg']);
    const none = await call(`/admin/sandbox/replies?channel=whatsapp&chat=34611111111&after=${last}`);
    expect(none.body).toEqual({ replies: [], lastSeq: last });
  });
});

describe('dashboard files', () => {
  it('serves the dashboard at /admin and client routes without a key; scripts only from files', async () => {
    const page = await call('/admin', { key: null });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    const html = page.body as string;
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [, attrs, inner] of scripts) {
      expect(attrs).toMatch(/src="\/admin\/assets\/[^"]+\.js"/);
      expect(inner.trim()).toBe('');
    }
    const asset = /src="(\/admin\/assets\/[^"]+\.js)"/.exec(html)![1];
    const js = await fetch(`${w.url}${asset}`);
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toContain('javascript');
    expect(js.headers.get('cache-control')).toContain('immutable');
    const client = await call('/admin/ui/conversations/12', { key: null });
    expect(client.status).toBe(200);
    expect(client.body).toBe(html);
    expect((await call('/admin/assets/missing.js', { key: null })).status).toBe(404);
    // The API next to it still needs the key.
    expect((await call('/admin/sessions', { key: null })).status).toBe(401);
  });

  it('explains in words when the dashboard has not been built', async () => {
    const empty = mkdtempSync(path.join(tmpdir(), 'wadi-dist-'));
    const wadi = await createWadi(testConfig(), {
      database: t.database,
      migrate: false,
      admin: { dashboardDist: `${empty}/` },
    });
    await wadi.app.ready();
    const r = await wadi.app.inject({ method: 'GET', url: '/admin' });
    expect(r.statusCode).toBe(503);
    expect(r.body).toContain('npm run build:web');
    await wadi.stop();
  });

  it('is not mounted on worker processes', async () => {
    const wadi = await createWadi(testConfig(), { database: t.database, migrate: false, role: 'worker' });
    await wadi.app.ready();
    expect((await wadi.app.inject({ method: 'GET', url: '/admin/health' })).statusCode).toBe(404);
    await wadi.stop();
  });
});
