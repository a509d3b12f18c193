// @ts-check
/**
 * The traffic of WADI's load scenarios for k6: correctly signed WhatsApp webhooks with unique
 * wamids from a pool of users, Telegram updates with the secret header, and a few readiness and
 * admin reads. Configure with WADI_URL, WHATSAPP_APP_SECRET, TELEGRAM_WEBHOOK_SECRET, ADMIN_API_KEY.
 */
import { check, sleep } from 'k6';
import crypto from 'k6/crypto';
import exec from 'k6/execution';
import http from 'k6/http';
import { Trend } from 'k6/metrics';
import { pickKind, replyTimes, resolveScenario } from './options.js';

const BASE = (__ENV.WADI_URL || 'http://127.0.0.1:3000').replace(/\/$/, '');
const APP_SECRET = __ENV.WHATSAPP_APP_SECRET || 'sandbox-whatsapp-app-secret';
const TG_SECRET = __ENV.TELEGRAM_WEBHOOK_SECRET || 'sandbox-telegram-webhook-secret';
const ADMIN_KEY = __ENV.ADMIN_API_KEY || '';
const RUN = Date.now().toString(36);
const timeToReply = new Trend('time_to_reply', true);

/**
 * One virtual user's iteration for scenario `name`.
 * @param {import('./options.js').ScenarioFile} file
 * @param {string} name
 */
export function iteration(file, name) {
  const s = resolveScenario(file, name);
  const n = exec.scenario.iterationInTest;
  // Chat users are many distinct senders: round robin over the pool.
  const user = 1 + (n % s.userPool);
  const text = `hola ${n} @${Date.now()}`;
  let kind = pickKind(s.mix, Math.random());
  if (kind === 'admin' && !ADMIN_KEY) kind = 'health';
  let res;
  if (kind === 'whatsapp') {
    const from = `3460${String(user).padStart(7, '0')}`;
    const body = JSON.stringify({
      object: 'whatsapp_business_account',
      entry: [
        {
          id: 'load-waba',
          changes: [
            {
              field: 'messages',
              value: {
                messaging_product: 'whatsapp',
                metadata: { display_phone_number: '15550000000', phone_number_id: '100000000000001' },
                contacts: [{ profile: { name: `Load ${user}` }, wa_id: from }],
                messages: [
                  {
                    from,
                    id: `wamid.k6.${RUN}.${exec.vu.idInTest}.${n}`,
                    timestamp: String(Math.floor(Date.now() / 1000)),
                    type: 'text',
                    text: { body: text },
                  },
                ],
              },
            },
          ],
        },
      ],
    });
    const sig = crypto.hmac('sha256', APP_SECRET, body, 'hex');
    res = http.post(`${BASE}/webhooks/whatsapp`, body, {
      headers: { 'content-type': 'application/json', 'x-hub-signature-256': `sha256=${sig}` },
      tags: { name: 'whatsapp_webhook' },
    });
  } else if (kind === 'telegram') {
    const id = 700000000 + user;
    const body = JSON.stringify({
      update_id: Date.now() * 1000 + (n % 1000),
      message: {
        message_id: n,
        from: { id, is_bot: false, first_name: `Load ${user}` },
        chat: { id, type: 'private' },
        date: Math.floor(Date.now() / 1000),
        text,
      },
    });
    res = http.post(`${BASE}/webhooks/telegram`, body, {
      headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': TG_SECRET },
      tags: { name: 'telegram_webhook' },
    });
  } else if (kind === 'admin' && ADMIN_KEY) {
    res = http.get(`${BASE}/admin/stats`, { headers: { 'x-admin-key': ADMIN_KEY }, tags: { name: 'admin_stats' } });
  } else {
    res = http.get(`${BASE}/health/ready`, { tags: { name: 'health_ready' } });
  }
  check(res, { 'status is 2xx': (r) => r.status >= 200 && r.status < 300 });
  sleep(s.thinkTimeMs / 1000);
}

/**
 * One operator's dashboard refresh (the `operators` scenario of buildOptions).
 * @param {import('./options.js').ScenarioFile} file
 * @param {string} name
 */
export function operator(file, name) {
  const s = resolveScenario(file, name);
  const headers = { 'x-admin-key': ADMIN_KEY };
  http.get(`${BASE}/admin/stats`, { headers, tags: { name: 'admin_stats' } });
  http.get(`${BASE}/admin/sessions?active=true`, { headers, tags: { name: 'admin_sessions' } });
  sleep(s.operators.intervalMs / 1000);
}

/** setup(): where the sandbox's call log stands before the run (null when not in sandbox mode). */
export function sandboxStart() {
  const res = http.get(`${BASE}/sandbox/outbox?summary=1`);
  if (res.status !== 200) return { seq: null };
  return { seq: res.json('summary.last.seq') || 0 };
}

/**
 * teardown(): waits for the last replies, then records each reply's time-to-reply.
 * @param {{ seq: number | null }} data
 */
export function recordTimeToReply(data) {
  if (data.seq === null) return;
  sleep(Number(__ENV.WADI_DRAIN_SECONDS || 30));
  for (const channel of ['whatsapp', 'telegram']) {
    const res = http.get(`${BASE}/sandbox/outbox?channel=${channel}&after=${data.seq}`, { timeout: '60s' });
    if (res.status !== 200) continue;
    for (const t of replyTimes(/** @type {any} */ (res.json('calls')))) timeToReply.add(t.ms, { channel: t.channel });
  }
}
