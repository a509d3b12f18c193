/**
 * Hostile input: property-based fuzzing of both webhook endpoints and the admin API through the
 * full Fastify pipeline, with full-Unicode, binary and raw UTF-16 strings (NUL, lone surrogates,
 * bidi controls…), the poison payloads of issue 14, deep nesting, invalid UTF-8 and mutated bytes.
 *
 * Per case: never a 5xx, never a stack trace, and the exact change in what is stored: a delivery
 * without a valid signature or secret changes nothing; a signed one stores exactly the events and
 * statuses the parser found in it that were not stored before (or keeps them as an unstorable
 * delivery). Admin cases come from varied client addresses (IPv4 and IPv6), so the lockout does
 * not turn the property into "everything is 429" after ten cases.
 *
 * FUZZ_RUNS sets the cases per endpoint (CI: 10,000); FUZZ_SEED and FUZZ_PATH replay a reported failure. With FUZZ_REPORT=<file>, the cases tried per
 * kind and their outcomes are written there as JSON (docs/reliability.md's "hostile input" table).
 */
import { writeFileSync } from 'node:fs';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWadi, type Wadi } from '../../src/app/wadi.ts';
import { parseUpdate } from '../../src/channels/telegram/parse.ts';
import { isUpdate } from '../../src/channels/telegram/update-types.ts';
import { parseWebhook } from '../../src/channels/whatsapp/parser.ts';
import { storableString } from '../../src/inbox/normalise.ts';
import { createLogger } from '../../src/observability/logging/logger.ts';
import { metaJson, signWhatsapp, telegramTextUpdate, whatsappTextWebhook } from '../../src/sandbox/payloads.ts';
import { type TestDb, testDatabase } from '../helpers/db.ts';
import { LogCapture, TEST_ADMIN_KEY, testConfig } from '../helpers/wadi.ts';

const RUNS = Number(process.env.FUZZ_RUNS ?? 1000);
/** FUZZ_SEED (and FUZZ_PATH) replay a failure fast-check reported: `FUZZ_SEED=… FUZZ_PATH=… npx vitest run …`. */
const REPLAY = process.env.FUZZ_SEED
  ? { seed: Number(process.env.FUZZ_SEED), ...(process.env.FUZZ_PATH ? { path: process.env.FUZZ_PATH } : {}) }
  : {};
const FUZZ_TIMEOUT = 1_800_000;
const SANDBOX_BOT = { id: 100000001, username: 'wadi_sandbox_bot' };

let t: TestDb;
let wadi: Wadi;
let app: FastifyInstance;
let appSecret: string;
let tgSecret: string;
let phoneNumberId: string | undefined;
const logs = new LogCapture();

/** What a case did, counted per kind for the report. */
type Outcome = string;
const report: Record<string, Record<string, Record<Outcome, number>>> = {};
function tally(endpoint: string, kind: string, outcome: Outcome): void {
  const byKind = report[endpoint] ?? {};
  report[endpoint] = byKind;
  const k = byKind[kind] ?? {};
  byKind[kind] = k;
  k[outcome] = (k[outcome] ?? 0) + 1;
}

interface Counts {
  inbox: number;
  statuses: number;
  unstorable: number;
}
async function counts(): Promise<Counts> {
  const { rows } = await t.database.query<Counts>(
    `select (select count(*)::int from inbox_messages) as inbox,
            (select count(*)::int from status_events) as statuses,
            (select coalesce(sum(items), 0)::int from unstorable_deliveries) as unstorable`,
  );
  return rows[0] as Counts;
}
const delta = (a: Counts, b: Counts) => ({
  inbox: b.inbox - a.inbox,
  statuses: b.statuses - a.statuses,
  unstorable: b.unstorable - a.unstorable,
});

beforeAll(async () => {
  t = await testDatabase();
  // TRUST_PROXY=1: inject's socket peer is the proxy, X-Forwarded-For names the (varied) client.
  const config = testConfig({ LOG_LEVEL: 'warn', TRUST_PROXY: '1' });
  appSecret = config.whatsapp?.appSecret ?? '';
  tgSecret = config.telegram?.webhookSecret ?? '';
  phoneNumberId = config.whatsapp?.phoneNumberId;
  const logKit = createLogger({ level: 'warn', format: 'json', destination: logs });
  // Web role: webhooks and admin, no workers (nothing consumes the inbox while we count it).
  wadi = await createWadi(config, { database: t.database, role: 'web', logKit, migrate: true });
  app = wadi.app;
  await app.ready();
}, 120_000);

afterAll(async () => {
  if (process.env.FUZZ_REPORT)
    writeFileSync(process.env.FUZZ_REPORT, `${JSON.stringify({ runs: RUNS, report }, null, 2)}\n`);
  await wadi?.stop();
  await t?.drop();
});

// --- strings ----------------------------------------------------------------------------------

/** Values that broke storage or parsing somewhere once: NUL, lone surrogates, controls, sizes. */
const POISON = [
  '\u0000',
  'hola\u0000mundo',
  '\u0000\u0000\u0000',
  '\uD800',
  '\uDFFF',
  'a\uD83Db',
  '\uDE00\uD83D',
  '😀\u0000😀',
  '\u202Eevil\u202C',
  '\uFEFFbom',
  '\uFFFE\uFFFF',
  '\\u0000',
  '\\ud800',
  '"}]}',
  '%00',
  'a'.repeat(70_000),
  '\u0000'.repeat(1000),
  '𝕳𝖔𝖑𝖆'.repeat(500),
];
/** Any UTF-16 code unit: lone surrogates and NUL are frequent. */
const codeUnits = fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)) });
const hostileString = fc.oneof(
  { weight: 3, arbitrary: fc.string({ unit: 'binary' }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme' }) },
  { weight: 3, arbitrary: codeUnits },
  { weight: 2, arbitrary: fc.constantFrom(...POISON) },
);

/** Arbitrary JSON values with hostile strings (keys too) and nesting. */
const hostileJson = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    hostileString,
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(hostileString, tie('value'), { maxKeys: 5 }),
  ),
})).value;

// --- WhatsApp -----------------------------------------------------------------------------------

let waSeq = 0;
const run = Date.now().toString(36);
type WaCase = { kind: string; build: () => Buffer; expect: 'stored' | 'unstorable' | 'any' };

const waText = fc
  .record({
    text: hostileString,
    name: hostileString,
    from: fc.oneof(fc.stringMatching(/^[0-9]{8,15}$/), hostileString),
  })
  .map(
    ({ text, name, from }): WaCase => ({
      kind: 'signed text: full-Unicode / binary / UTF-16 strings',
      expect: 'any',
      build: () => Buffer.from(metaJson(whatsappTextWebhook({ from, name, text, id: `wamid.fuzz.${run}.${++waSeq}` }))),
    }),
  );
const waPoison = fc.constantFrom(...POISON).map(
  (text): WaCase => ({
    kind: 'signed text: poison strings (NUL, lone surrogates, 70 kB)',
    expect: 'stored',
    build: () =>
      Buffer.from(metaJson(whatsappTextWebhook({ from: '34600000001', text, id: `wamid.fuzz.${run}.${++waSeq}` }))),
  }),
);
const waDeep = fc.integer({ min: 33, max: 30_000 }).map(
  (depth): WaCase => ({
    kind: 'signed text with an unknown field nested 33-30,000 deep',
    expect: 'stored',
    build: () =>
      Buffer.from(
        metaJson(
          whatsappTextWebhook({ from: '34600000002', text: 'hondo', id: `wamid.fuzz.${run}.${++waSeq}` }),
        ).replace('"type":"text"', `"nested":${'['.repeat(depth)}"x"${']'.repeat(depth)},"type":"text"`),
      ),
  }),
);
const waFuture = fc.integer({ min: 8_000_000_000_000, max: 8_640_000_000_000 }).map(
  (timestamp): WaCase => ({
    kind: 'signed text dated past year 250,000 (unstorable)',
    expect: 'unstorable',
    build: () =>
      Buffer.from(
        metaJson(
          whatsappTextWebhook({ from: '34600000003', text: 'futuro', timestamp, id: `wamid.fuzz.${run}.${++waSeq}` }),
        ),
      ),
  }),
);
const waRandom = hostileJson.map(
  (v): WaCase => ({ kind: 'random JSON', expect: 'any', build: () => Buffer.from(JSON.stringify(v) ?? 'null') }),
);
const waInvalidUtf8 = fc.uint8Array({ minLength: 1, maxLength: 200 }).map(
  (a): WaCase => ({
    kind: 'invalid UTF-8',
    expect: 'any',
    build: () => Buffer.concat([Buffer.from('{"x":"'), Buffer.from(a), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]),
  }),
);
const waMutated = fc.record({ text: hostileString, cut: fc.nat(), flip: fc.nat() }).map(
  ({ text, cut, flip }): WaCase => ({
    kind: 'signed webhook with one flipped bit or cut short',
    expect: 'any',
    build: () => {
      // Its own id prefix: a flipped bit in `wamid.fuzz.<run>.152` signs and stores `….153`, which a
      // later case expecting to be stored would then meet as a duplicate.
      const b = Buffer.from(
        metaJson(whatsappTextWebhook({ from: '34600000004', text, id: `wamid.mutated.${run}.${++waSeq}` })),
      );
      if (flip % 2 === 0) {
        b[cut % b.length] ^= 1 << (flip % 8);
        return b;
      }
      return b.subarray(0, cut % b.length);
    },
  }),
);
const waHuge = fc.integer({ min: 1000, max: 20_000 }).map(
  (n): WaCase => ({
    kind: '1,000-20,000 empty entries',
    expect: 'any',
    build: () =>
      Buffer.from(
        JSON.stringify({
          object: 'whatsapp_business_account',
          entry: Array.from({ length: n }, () => ({ changes: [] })),
        }),
      ),
  }),
);
const waCase = fc.oneof(
  { weight: 4, arbitrary: waText },
  { weight: 2, arbitrary: waPoison },
  { weight: 1, arbitrary: waDeep },
  { weight: 1, arbitrary: waFuture },
  { weight: 2, arbitrary: waRandom },
  { weight: 1, arbitrary: waInvalidUtf8 },
  { weight: 2, arbitrary: waMutated },
  { weight: 1, arbitrary: waHuge },
);
/** Mostly JSON (so most cases reach the parser and the writer), sometimes anything else. */
const contentType = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom('application/json', 'application/json; charset=utf-8') },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      'text/plain',
      'application/x-www-form-urlencoded',
      '',
      'application/json; charset=latin1',
      'multipart/form-data',
    ),
  },
);
const waSignature = fc.oneof(
  { weight: 6, arbitrary: fc.constant('valid' as const) },
  { weight: 1, arbitrary: fc.constantFrom('upper', 'wrong', 'missing', 'garbage') },
);

/** Events and statuses of `raw` that the parser accepts and that are not stored yet. */
async function expectedNew(raw: Buffer): Promise<number> {
  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch {
    return 0;
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return 0;
  const parsed = parseWebhook(body, { phoneNumberId });
  const ids = [...new Set(parsed.events.map((e) => storableString(e.externalId)))];
  const statusKeys = [
    ...new Set(parsed.statuses.map((s) => JSON.stringify([storableString(s.platformMessageId), s.status]))),
  ];
  let existing = 0;
  if (ids.length > 0) {
    const { rows } = await t.database.query<{ n: number }>(
      `select count(*)::int as n from inbox_messages where channel = 'whatsapp' and external_id = any($1)`,
      [ids],
    );
    existing += rows[0]?.n ?? 0;
  }
  for (const k of statusKeys) {
    const [pid, status] = JSON.parse(k) as [string, string];
    const { rows } = await t.database.query<{ n: number }>(
      `select count(*)::int as n from status_events where channel = 'whatsapp' and platform_message_id = $1 and status = $2`,
      [pid, status],
    );
    existing += rows[0]?.n ?? 0;
  }
  return ids.length + statusKeys.length - existing;
}

/** The layer that decided a webhook case. */
function layer(status: number, d: ReturnType<typeof delta>): string {
  if (status === 401 || status === 403) return 'refused: signature';
  if (status === 413 || status === 415) return 'refused: transport (size, content type)';
  if (status >= 400) return 'refused: schema (not JSON / not an object)';
  if (d.unstorable > 0) return 'acknowledged: kept as unstorable';
  if (d.inbox + d.statuses > 0) return 'stored';
  return 'acknowledged: nothing to store (ignored or duplicate)';
}

describe('hostile input: never a 5xx, and exactly what was authenticated is stored', () => {
  it(
    `WhatsApp webhook (${RUNS} cases)`,
    async () => {
      await fc.assert(
        fc.asyncProperty(waCase, contentType, waSignature, async (c, ct, sig) => {
          const payload = c.build();
          const headers: Record<string, string> = {};
          if (ct) headers['content-type'] = ct;
          if (sig === 'valid') headers['x-hub-signature-256'] = signWhatsapp(payload, appSecret);
          if (sig === 'upper')
            headers['x-hub-signature-256'] = `sha256=${signWhatsapp(payload, appSecret).slice(7).toUpperCase()}`;
          if (sig === 'wrong') headers['x-hub-signature-256'] = signWhatsapp(payload, 'not-the-secret');
          if (sig === 'garbage') headers['x-hub-signature-256'] = 'sha256=zz';
          const authentic = sig === 'valid' || sig === 'upper';
          const jsonType = ct.startsWith('application/json');
          const want = authentic && jsonType ? await expectedNew(payload) : 0;
          const before = await counts();
          const res = await app.inject({ method: 'POST', url: '/webhooks/whatsapp', headers, payload });
          const d = delta(before, await counts());
          expect(res.statusCode, res.body).toBeLessThan(500);
          tally('whatsapp', authentic ? c.kind : 'unsigned, wrong or garbage signature', layer(res.statusCode, d));
          if (!authentic) {
            expect(res.statusCode).not.toBe(200);
            expect(d).toEqual({ inbox: 0, statuses: 0, unstorable: 0 });
            return;
          }
          if (res.statusCode !== 200) {
            expect(d).toEqual({ inbox: 0, statuses: 0, unstorable: 0 });
            return;
          }
          // Exactly the new events and statuses, stored or kept as unstorable: nothing lost.
          expect(d.inbox + d.statuses + d.unstorable).toBe(want);
          if (jsonType && c.expect === 'stored') expect(d).toEqual({ inbox: 1, statuses: 0, unstorable: 0 });
          if (jsonType && c.expect === 'unstorable') expect(d).toEqual({ inbox: 0, statuses: 0, unstorable: 1 });
        }),
        { numRuns: RUNS, ...REPLAY },
      );
    },
    FUZZ_TIMEOUT,
  );

  it(
    `Telegram webhook (${RUNS} cases)`,
    async () => {
      let updateSeq = 1_000_000_000 + (Date.now() % 1_000_000) * 1000;
      type TgCase = { kind: string; build: () => Buffer };
      const tgText = fc.record({ text: hostileString, first: hostileString }).map(
        ({ text, first }): TgCase => ({
          kind: 'text update: full-Unicode / binary / UTF-16 strings and poison',
          build: () => {
            const u = telegramTextUpdate({ updateId: ++updateSeq, chatId: 4242, text }) as {
              message: { from: Record<string, unknown> };
            };
            u.message.from.first_name = first;
            return Buffer.from(JSON.stringify(u));
          },
        }),
      );
      const tgRandom = hostileJson.map(
        (v): TgCase => ({ kind: 'random JSON', build: () => Buffer.from(JSON.stringify(v) ?? 'null') }),
      );
      const tgRandomUpdate = hostileJson.map(
        (v): TgCase => ({
          kind: 'random JSON with an integer update_id',
          build: () =>
            Buffer.from(
              JSON.stringify({
                ...(typeof v === 'object' && v && !Array.isArray(v) ? v : { v }),
                update_id: ++updateSeq,
              }),
            ),
        }),
      );
      const tgBytes = fc
        .uint8Array({ maxLength: 300 })
        .map((a): TgCase => ({ kind: 'random bytes', build: () => Buffer.from(a) }));
      const tgCase = fc.oneof(
        { weight: 4, arbitrary: tgText },
        { weight: 2, arbitrary: tgRandom },
        { weight: 2, arbitrary: tgRandomUpdate },
        { weight: 1, arbitrary: tgBytes },
      );
      await fc.assert(
        fc.asyncProperty(
          tgCase,
          contentType,
          fc.oneof(
            { weight: 6, arbitrary: fc.constant('valid') },
            { weight: 1, arbitrary: fc.constantFrom('wrong', 'missing', 'long') },
          ),
          async (c, ct, secret) => {
            const payload = c.build();
            const headers: Record<string, string> = {};
            if (ct) headers['content-type'] = ct;
            if (secret === 'valid') headers['x-telegram-bot-api-secret-token'] = tgSecret;
            if (secret === 'wrong') headers['x-telegram-bot-api-secret-token'] = `${tgSecret.slice(0, -1)}x`;
            if (secret === 'long') headers['x-telegram-bot-api-secret-token'] = 'a'.repeat(300);
            let want = 0;
            if (secret === 'valid') {
              let update: unknown;
              try {
                update = JSON.parse(payload.toString('utf8'));
              } catch {
                update = undefined;
              }
              if (isUpdate(update)) {
                const p = parseUpdate(update, { bot: SANDBOX_BOT, groupReply: 'mention' });
                if (p.event) {
                  const { rows } = await t.database.query<{ n: number }>(
                    `select count(*)::int as n from inbox_messages where channel = 'telegram' and external_id = $1`,
                    [storableString(p.event.externalId)],
                  );
                  want = rows[0]?.n ? 0 : 1;
                }
              }
            }
            const before = await counts();
            const res = await app.inject({ method: 'POST', url: '/webhooks/telegram', headers, payload });
            const d = delta(before, await counts());
            expect(res.statusCode, res.body).toBeLessThan(500);
            tally(
              'telegram',
              secret === 'valid' ? c.kind : 'missing, wrong or over-long secret',
              layer(res.statusCode, d),
            );
            if (secret !== 'valid') {
              expect(res.statusCode).toBe(401);
              expect(d).toEqual({ inbox: 0, statuses: 0, unstorable: 0 });
              return;
            }
            if (res.statusCode !== 200) {
              expect(d).toEqual({ inbox: 0, statuses: 0, unstorable: 0 });
              return;
            }
            expect(d.statuses).toBe(0);
            expect(d.inbox + d.unstorable).toBe(want);
          },
        ),
        { numRuns: RUNS, ...REPLAY },
      );
    },
    FUZZ_TIMEOUT,
  );

  it(
    `admin API from varied client addresses (${RUNS} cases)`,
    async () => {
      const hex = fc.integer({ min: 0, max: 0xffff }).map((n) => n.toString(16));
      const ipv4 = fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 4, maxLength: 4 }).map((a) => a.join('.'));
      const ipv6 = fc.array(hex, { minLength: 8, maxLength: 8 }).map((a) => a.join(':'));
      const client = fc.oneof({ weight: 5, arbitrary: ipv4 }, { weight: 4, arbitrary: ipv6 });
      const poisonId = fc.constantFrom(
        '99999999999999999999',
        '9007199254740992',
        '9223372036854775808',
        '-1',
        '0',
        '1e3',
        '0x10',
        '1.5',
        '%00',
        '%F0%9F%98%80',
      );
      /** Every byte of the string's UTF-8 percent-encoded (lone surrogates arrive as U+FFFD). */
      const pct = (s: string) => [...Buffer.from(s, 'utf8')].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');
      /** Percent-encoded bytes that are not UTF-8. */
      const badUtf8 = fc
        .uint8Array({ minLength: 1, maxLength: 8 })
        .map((a) => `${pct(Buffer.from(a).toString('latin1'))}%c3%28`);
      const id = fc.oneof(
        hostileString.map((s) => pct(s.slice(0, 20))),
        badUtf8,
        poisonId,
      );
      const path = fc.oneof(
        fc.constantFrom(
          '/admin/health',
          '/admin/logs',
          '/admin/sessions',
          '/admin/stats',
          '/admin/alerts',
          '/admin/queues',
          '/admin/dead-letters',
          '/admin/openapi.json',
        ),
        hostileString.map((s) => `/admin/${pct(s.slice(0, 30))}`),
        fc
          .tuple(
            fc.constantFrom('sessions', 'messages', 'dead-letters'),
            id,
            fc.constantFrom('messages', 'reset', 'pause', 'resume', 'replay'),
          )
          .map(([a, i, b]) => `/admin/${a}/${i}/${b}`),
      );
      const queryValue = fc.oneof(
        hostileString.map((s) => s.slice(0, 40)),
        fc.constantFrom('9999-99-99', '9999-99-99T99:99:99Z', '99999999999999999999', '-1', 'NaN', 'Infinity', '1e308'),
        fc.constantFrom('eyJhdCI6Ijk5OTktOTktOTkiLCJpZCI6OTk5OTk5OTk5OTk5OTk5OTk5OTl9', 'AAAA', '%%'),
      );
      const query = fc.dictionary(
        fc.constantFrom('limit', 'level', 'since', 'cursor', 'q', 'active', 'channel', 'status'),
        queryValue,
        { maxKeys: 4 },
      );
      const adminBody = fc.oneof(
        hostileJson.map((v) => Buffer.from(JSON.stringify(v) ?? 'null')),
        fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)),
      );
      const seen = new Set<string>();
      let lockedOut = 0;
      await fc.assert(
        fc.asyncProperty(
          path,
          query,
          fc.constantFrom('GET', 'POST', 'PUT', 'DELETE'),
          fc.boolean(),
          adminBody,
          client,
          async (p, q, method, withKey, payload, ip) => {
            const qs = new URLSearchParams(q).toString();
            const res = await app.inject({
              method,
              url: qs ? `${p}?${qs}` : p,
              headers: {
                'content-type': 'application/json',
                ...(withKey ? { 'x-admin-key': TEST_ADMIN_KEY } : {}),
                'x-forwarded-for': ip,
              },
              payload: method === 'GET' || method === 'DELETE' ? undefined : payload,
            });
            expect(res.statusCode, `${method} ${p}?${qs} → ${res.body}`).toBeLessThan(500);
            expect(res.body).not.toMatch(/at .+\.ts:\d+/); // no stack traces
            const fresh = !seen.has(ip);
            seen.add(ip);
            if (res.statusCode === 429 && fresh) lockedOut++;
            tally('admin', withKey ? 'with the key' : 'without a key', String(res.statusCode));
          },
        ),
        { numRuns: RUNS, ...REPLAY },
      );
      // A first request from an address never meets a lockout: the cases really reach the routes.
      expect(lockedOut).toBe(0);
      const withKey = report.admin?.['with the key'] ?? {};
      expect((withKey['200'] ?? 0) + (withKey['400'] ?? 0) + (withKey['404'] ?? 0)).toBeGreaterThan(0);
    },
    FUZZ_TIMEOUT,
  );

  it('logged no message content and no stack trace of a database error', () => {
    expect(logs.text()).not.toContain('hola\\u0000mundo');
    expect(logs.text()).not.toMatch(/invalid input syntax for type json: "/);
  });
});
