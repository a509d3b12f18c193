import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KV_BACKUP_LAST_SUCCESS } from '../../src/features/backup/last-success.ts';
import type { ModuleFactory } from '../../src/platform/context.ts';
import type { CheckResult } from '../../src/tools/preflight/checks/types.ts';
import { runPreflight } from '../../src/tools/preflight/run.ts';
import { tempDir } from '../helpers/cli.ts';
import { postgresUrl, type TestDb, testDatabase } from '../helpers/db.ts';
import { type KeyPair, listen, makeCertificates, readBody, type TestServer } from '../helpers/servers.ts';
import { startTestWadi, type TestWadi } from '../helpers/wadi.ts';

const ADMIN_KEY = 'ready-admin-key-0123456789abcdefghijklmn';
const BOT_TOKEN = '123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ_ready';
const VERIFY = 'ready-verify-token-0123456789';
const METRICS = 'ready-metrics-token-0123456789';
const ORIGIN = 'https://admin.example.com';

/** Stand-ins for routes other features serve (admin API, metrics, WhatsApp handshake). */
const standIns: ModuleFactory = (ctx) => ({
  name: 'stand-ins',
  plugins: [
    async (app) => {
      app.get('/admin/health', async (req, reply) =>
        req.headers['x-admin-key'] === ADMIN_KEY
          ? { status: 'pass' }
          : reply.code(401).send({ error: { code: 'unauthorized' } }),
      );
      app.get('/metrics', async (req, reply) =>
        req.headers.authorization === `Bearer ${METRICS}` ? '# HELP up 1\nup 1\n' : reply.code(401).send(),
      );
      app.get('/webhooks/whatsapp', async (req, reply) => {
        const q = req.query as Record<string, string>;
        if (q['hub.verify_token'] !== ctx.config.whatsapp?.verifyToken) return reply.code(403).send();
        return reply.type('text/plain').send(q['hub.challenge']);
      });
    },
  ],
});

/** A reverse proxy to WADI that tells it which scheme the client used. */
function proxyTo(target: () => string, proto: 'http' | 'https'): http.RequestListener {
  return (req, res) => {
    const up = http.request(
      `${target()}${req.url}`,
      { method: req.method, headers: { ...req.headers, 'x-forwarded-proto': proto } },
      (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      },
    );
    up.on('error', () => res.writeHead(502).end());
    req.pipe(up);
  };
}

describe.runIf(postgresUrl())('preflight of a deployment that is ready to go live', () => {
  let t: TestDb;
  let w: TestWadi;
  let certs: { ca: KeyPair; leaves: KeyPair[] };
  const servers: TestServer[] = [];
  let tlsProxy: TestServer;
  let httpProxy: TestServer;
  const sent: unknown[] = [];
  let env: Record<string, string>;

  beforeAll(async () => {
    t = await testDatabase();
    certs = makeCertificates({ leafDays: [90] });
    let wadiUrl = '';
    tlsProxy = await listen(
      proxyTo(() => wadiUrl, 'https'),
      certs.leaves[0],
    );
    httpProxy = await listen(proxyTo(() => wadiUrl, 'http'));
    const publicUrl = tlsProxy.url;
    const bot = await listen(async (req, res) => {
      res.setHeader('content-type', 'application/json');
      if (req.url === `/bot${BOT_TOKEN}/getWebhookInfo`) {
        return res.end(
          JSON.stringify({ ok: true, result: { url: `${publicUrl}/webhooks/telegram`, pending_update_count: 0 } }),
        );
      }
      if (req.url === `/bot${BOT_TOKEN}/sendMessage`) {
        sent.push(JSON.parse(await readBody(req)));
        return res.end(JSON.stringify({ ok: true, result: {} }));
      }
      res.writeHead(404).end('{"ok":false}');
    });
    servers.push(tlsProxy, httpProxy, bot);
    env = {
      NODE_ENV: 'production',
      ADMIN_API_KEY: ADMIN_KEY,
      CORS_ORIGINS: ORIGIN,
      DATABASE_URL: t.url as string,
      OPENAI_API_KEY: 'sk-ready-0123456789abcdefghij',
      PUBLIC_URL: publicUrl,
      TRUST_PROXY: '1',
      TELEGRAM_BOT_TOKEN: BOT_TOKEN,
      TELEGRAM_WEBHOOK_SECRET: 'ready-webhook-secret-0123456789',
      TELEGRAM_API_URL: bot.url,
      WHATSAPP_ACCESS_TOKEN: 'ready-wa-access-0123456789',
      WHATSAPP_APP_SECRET: 'ready-wa-app-secret-0123456789',
      WHATSAPP_VERIFY_TOKEN: VERIFY,
      WHATSAPP_PHONE_NUMBER_ID: '1234567890',
      METRICS_TOKEN: METRICS,
      ALERT_TELEGRAM_CHAT_ID: '-100777',
      BACKUP_SCHEDULE: '0 3 * * *',
    };
    // The deployment runs with the same environment (minus production's log and database
    // defaults, which the test helper sets).
    w = await startTestWadi(t.database, {
      env: { ...env, NODE_ENV: 'test' },
      features: ['security'],
      extraModules: [standIns],
    });
    wadiUrl = w.url;
    await t.database.query(
      `insert into kv (key, value) values ($1, $2::jsonb) on conflict (key) do update set value = excluded.value`,
      [
        KV_BACKUP_LAST_SUCCESS,
        JSON.stringify({ at: new Date(Date.now() - 3600_000).toISOString(), file: 'wadi.dump' }),
      ],
    );
  }, 90_000);
  afterAll(async () => {
    await w?.stop();
    await Promise.all(servers.map((s) => s.close()));
    await t?.drop();
  });

  it('passes every item (CI/CD warns: the CI server cannot be seen offline) and delivers the test alert', async () => {
    const results: CheckResult[] = await runPreflight({
      env,
      cwd: tempDir('wadi-ready-'),
      ca: certs.ca.cert,
      httpUrl: httpProxy.url,
      sendTestAlert: true,
    });
    const notPass = results.filter((r) => r.status !== 'pass').map((r) => `${r.section}/${r.item}: ${r.detail}`);
    expect(notPass).toEqual([expect.stringMatching(/^CI\/CD\/CI server: /)]);
    // WADI's own redirect answered through the plain-http proxy.
    const redirect = results.find((r) => r.item === 'http → https');
    expect(redirect?.detail).toContain(`redirects (308) to ${tlsProxy.url}/admin`);
    expect(sent).toEqual([expect.objectContaining({ chat_id: '-100777' })]);
    for (const secret of [ADMIN_KEY, BOT_TOKEN, VERIFY, METRICS]) expect(JSON.stringify(results)).not.toContain(secret);
  }, 90_000);
});
