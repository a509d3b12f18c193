/**
 * Hostile input: property-based fuzzing of both webhook endpoints and the admin API through the
 * full Fastify pipeline. Never a 5xx, never a crash, never anything stored without a valid
 * signature or secret. FUZZ_RUNS sets the cases per endpoint (CI: 10,000).
 */
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWadi, type Wadi } from '../../src/app/wadi.ts';
import { createLogger } from '../../src/observability/logging/logger.ts';
import { metaJson, signWhatsapp, whatsappTextWebhook } from '../../src/sandbox/payloads.ts';
import { type TestDb, testDatabase } from '../helpers/db.ts';
import { LogCapture, TEST_ADMIN_KEY, testConfig } from '../helpers/wadi.ts';

const RUNS = Number(process.env.FUZZ_RUNS ?? 1000);
const FUZZ_TIMEOUT = 600_000;

let t: TestDb;
let wadi: Wadi;
let app: FastifyInstance;
let appSecret: string;
let tgSecret: string;

const stored = async () =>
  (await t.database.query<{ n: number }>('select count(*)::int as n from inbox_messages')).rows[0].n +
  (await t.database.query<{ n: number }>('select count(*)::int as n from status_events')).rows[0].n;

beforeAll(async () => {
  t = await testDatabase();
  const config = testConfig({ LOG_LEVEL: 'warn' });
  appSecret = config.whatsapp?.appSecret ?? '';
  tgSecret = config.telegram?.webhookSecret ?? '';
  const logKit = createLogger({ level: 'warn', format: 'json', destination: new LogCapture() });
  // Web role: webhooks and admin, no workers (nothing consumes the inbox while we count it).
  wadi = await createWadi(config, { database: t.database, role: 'web', logKit, migrate: true });
  app = wadi.app;
  await app.ready();
}, 120_000);

afterAll(async () => {
  await wadi.stop();
  await t.drop();
});

/** Arbitrary JSON-ish values including deep nesting and large arrays. */
const hostileJson = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.string(),
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(fc.string({ maxLength: 10 }), tie('value'), { maxKeys: 5 }),
  ),
})).value;

const deep = fc.integer({ min: 1, max: 5000 }).map((d) => `${'['.repeat(d)}${']'.repeat(d)}`);
const invalidUtf8 = fc
  .uint8Array({ minLength: 1, maxLength: 200 })
  .map((a) => Buffer.concat([Buffer.from('{"x":"'), Buffer.from(a), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]));
const mutatedWebhook = fc
  .record({
    text: fc.string(),
    from: fc.string({ maxLength: 20 }),
    id: fc.string({ maxLength: 40 }),
    cut: fc.nat(),
    flip: fc.nat(),
  })
  .map(({ text, from, id, cut, flip }) => {
    const s = metaJson(whatsappTextWebhook({ from, text, id }));
    const b = Buffer.from(s);
    if (flip % 3 === 0) b[cut % b.length] ^= 0x20; // one flipped bit
    return flip % 3 === 1 ? b.subarray(0, cut % b.length) : b;
  });
const body = fc.oneof(
  hostileJson.map((v) => Buffer.from(JSON.stringify(v) ?? 'null')),
  fc.string().map((s) => Buffer.from(s)),
  deep.map((s) => Buffer.from(s)),
  invalidUtf8,
  mutatedWebhook,
  fc
    .integer({ min: 1000, max: 20_000 })
    .map((n) => Buffer.from(JSON.stringify({ entry: Array.from({ length: n }, () => ({ changes: [] })) }))),
);
const contentType = fc.constantFrom(
  'application/json',
  'application/json; charset=utf-8',
  'text/plain',
  'application/x-www-form-urlencoded',
  '',
  'application/json; charset=latin1',
  'multipart/form-data',
);

describe('hostile input never causes a 5xx or stores anything unauthenticated', () => {
  it(
    `WhatsApp webhook (${RUNS} cases)`,
    async () => {
      const before = await stored();
      let unsignedStored = 0;
      await fc.assert(
        fc.asyncProperty(
          body,
          contentType,
          fc.constantFrom('valid', 'wrong', 'missing', 'garbage', 'upper'),
          async (payload, ct, sig) => {
            const headers: Record<string, string> = {};
            if (ct) headers['content-type'] = ct;
            if (sig === 'valid') headers['x-hub-signature-256'] = signWhatsapp(payload, appSecret);
            if (sig === 'upper')
              headers['x-hub-signature-256'] = `sha256=${signWhatsapp(payload, appSecret).slice(7).toUpperCase()}`;
            if (sig === 'wrong') headers['x-hub-signature-256'] = signWhatsapp(payload, 'not-the-secret');
            if (sig === 'garbage') headers['x-hub-signature-256'] = 'sha256=zz';
            const n0 = sig === 'valid' || sig === 'upper' ? 0 : await stored();
            const res = await app.inject({ method: 'POST', url: '/webhooks/whatsapp', headers, payload });
            expect(res.statusCode, res.body).toBeLessThan(500);
            if (sig !== 'valid' && sig !== 'upper') {
              expect(res.statusCode).not.toBe(200);
              if ((await stored()) !== n0) unsignedStored++;
            }
          },
        ),
        { numRuns: RUNS },
      );
      expect(unsignedStored).toBe(0);
      expect(await stored()).toBeGreaterThanOrEqual(before);
    },
    FUZZ_TIMEOUT,
  );

  it(
    `Telegram webhook (${RUNS} cases)`,
    async () => {
      await fc.assert(
        fc.asyncProperty(
          body,
          contentType,
          fc.constantFrom('valid', 'wrong', 'missing', 'long'),
          async (payload, ct, secret) => {
            const headers: Record<string, string> = {};
            if (ct) headers['content-type'] = ct;
            if (secret === 'valid') headers['x-telegram-bot-api-secret-token'] = tgSecret;
            if (secret === 'wrong') headers['x-telegram-bot-api-secret-token'] = `${tgSecret.slice(0, -1)}x`;
            if (secret === 'long') headers['x-telegram-bot-api-secret-token'] = 'a'.repeat(300);
            const n0 = secret === 'valid' ? 0 : await stored();
            const res = await app.inject({ method: 'POST', url: '/webhooks/telegram', headers, payload });
            expect(res.statusCode, res.body).toBeLessThan(500);
            if (secret !== 'valid') {
              expect(res.statusCode).toBe(401);
              expect(await stored()).toBe(n0);
            }
          },
        ),
        { numRuns: RUNS },
      );
    },
    FUZZ_TIMEOUT,
  );

  it(
    `admin API (${RUNS} cases)`,
    async () => {
      const path = fc.oneof(
        fc.constantFrom(
          '/admin/health',
          '/admin/logs',
          '/admin/sessions',
          '/admin/stats',
          '/admin/alerts',
          '/admin/dead-letters',
          '/admin/openapi.json',
        ),
        fc.string({ maxLength: 30 }).map((s) => `/admin/${encodeURIComponent(s)}`),
        fc
          .tuple(
            fc.constantFrom('sessions', 'messages'),
            fc.string({ maxLength: 12 }),
            fc.constantFrom('messages', 'reset', 'pause', 'resume', 'replay'),
          )
          .map(([a, id, b]) => `/admin/${a}/${encodeURIComponent(id)}/${b}`),
      );
      const query = fc.dictionary(
        fc.constantFrom('limit', 'level', 'since', 'cursor', 'q', 'active', 'channel'),
        fc.string({ maxLength: 20 }),
        { maxKeys: 4 },
      );
      await fc.assert(
        fc.asyncProperty(
          path,
          query,
          fc.constantFrom('GET', 'POST', 'PUT', 'DELETE'),
          fc.boolean(),
          body,
          async (p, q, method, withKey, payload) => {
            const qs = new URLSearchParams(q).toString();
            const res = await app.inject({
              method,
              url: qs ? `${p}?${qs}` : p,
              headers: {
                'content-type': 'application/json',
                ...(withKey ? { 'x-admin-key': TEST_ADMIN_KEY } : {}),
                'x-forwarded-for': '10.0.0.1',
              },
              payload: method === 'GET' || method === 'DELETE' ? undefined : payload,
            });
            expect(res.statusCode, `${method} ${p} → ${res.body}`).toBeLessThan(500);
            expect(res.body).not.toMatch(/at .+\.ts:\d+/); // no stack traces
          },
        ),
        { numRuns: RUNS },
      );
    },
    FUZZ_TIMEOUT,
  );
});
