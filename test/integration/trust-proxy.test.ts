/**
 * TRUST_PROXY behind real proxy hops. Each hop is an HTTP reverse proxy that appends its peer to
 * X-Forwarded-For and says the client came over https; clients, hops and WADI all have distinct
 * loopback addresses, so "the client's address" and "the proxy's address" can be told apart.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SANDBOX_CREDENTIALS } from '../../src/config/config.ts';
import { metaJson, signWhatsapp, whatsappTextWebhook } from '../../src/sandbox/payloads.ts';
import { type TestDb, testDatabase } from '../helpers/db.ts';
import { type ForwardingProxy, requestFrom, startForwardingProxy } from '../helpers/forwarding-proxy.ts';
import { startTestWadi, TEST_ADMIN_KEY, type TestWadi } from '../helpers/wadi.ts';

interface Scenario {
  /** The TRUST_PROXY value under test. */
  readonly trust: string;
  /** Egress addresses of the hops, client side first. */
  readonly hops: readonly string[];
  /** A forged X-Forwarded-For from the client is ignored (false for `true`, which believes it). */
  readonly resistsForgery: boolean;
}

const SCENARIOS: readonly Scenario[] = [
  { trust: '1', hops: ['127.0.0.31'], resistsForgery: true },
  { trust: '2', hops: ['127.0.0.41', '127.0.0.42'], resistsForgery: true },
  { trust: '127.0.0.48/29', hops: ['127.0.0.51', '127.0.0.52'], resistsForgery: true },
  { trust: 'true', hops: ['127.0.0.61'], resistsForgery: false },
];

let t: TestDb;
beforeAll(async () => {
  t = await testDatabase();
});
afterAll(async () => {
  await t?.drop();
});

let seq = 0;
function whatsappDelivery(): { body: string; headers: Record<string, string> } {
  seq++;
  const body = metaJson(
    whatsappTextWebhook({
      from: `34600${String(seq).padStart(6, '0')}`,
      id: `wamid.trust.${Date.now()}.${seq}`,
      text: 'hola',
    }),
  );
  return {
    body,
    headers: {
      'content-type': 'application/json',
      'x-hub-signature-256': signWhatsapp(body, SANDBOX_CREDENTIALS.whatsappAppSecret),
    },
  };
}

describe.each(SCENARIOS)('TRUST_PROXY=$trust behind $hops.length real proxy hop(s)', (sc) => {
  let w: TestWadi;
  const proxies: ForwardingProxy[] = [];
  /** The front door: the hop clients connect to. */
  let front = '';

  beforeAll(async () => {
    w = await startTestWadi(t.database, { env: { TRUST_PROXY: sc.trust } });
    // Build the chain from WADI outwards: the last hop talks to WADI, the first to the client.
    let next = w.url;
    for (const egress of [...sc.hops].reverse()) {
      const p = await startForwardingProxy({ target: next, egressAddress: egress });
      proxies.push(p);
      next = p.url;
    }
    front = next;
  });
  afterAll(async () => {
    for (const p of proxies) await p.close();
    await w?.stop();
  });

  it('answers a signed WhatsApp webhook 200 (not a 308 loop) with X-Forwarded-Proto: https', async () => {
    const d = whatsappDelivery();
    const res = await requestFrom('127.0.0.2', `${front}/webhooks/whatsapp`, {
      method: 'POST',
      headers: d.headers,
      body: d.body,
    });
    expect(res.headers.location).toBeUndefined();
    expect(res.status).toBe(200);
  });

  it('answers the WhatsApp subscription handshake with the challenge', async () => {
    const q = `hub.mode=subscribe&hub.verify_token=${SANDBOX_CREDENTIALS.whatsappVerifyToken}&hub.challenge=4711`;
    const res = await requestFrom('127.0.0.2', `${front}/webhooks/whatsapp?${q}`);
    expect(res.status).toBe(200);
    expect(res.body).toBe('4711');
  });

  it("sees the client's own address, not the proxy's", async () => {
    const client = '127.0.0.3';
    const res = await requestFrom(client, `${front}/admin/health`, { headers: { 'x-admin-key': 'wrong-key' } });
    expect(res.status).toBe(401);
    const ips = w.logs
      .records()
      .filter((r) => r.msg === 'admin request with a missing or wrong key')
      .map((r) => r.ip);
    expect(ips.at(-1)).toBe(client);
    expect(ips).not.toContain(sc.hops.at(-1));
  });

  it('locks out the client that guessed, and only that client', async () => {
    const attacker = sc.resistsForgery ? '127.0.0.4' : '127.0.0.5';
    for (let i = 0; i < 10; i++) {
      const r = await requestFrom(attacker, `${front}/admin/health`, { headers: { 'x-admin-key': `guess-${i}` } });
      expect(r.status).toBe(401);
    }
    const locked = await requestFrom(attacker, `${front}/admin/health`, { headers: { 'x-admin-key': 'guess-x' } });
    expect(locked.status).toBe(429);
    // An operator behind the same proxy is not locked out by someone else's guesses.
    const operator = await requestFrom('127.0.0.6', `${front}/admin/health`, {
      headers: { 'x-admin-key': TEST_ADMIN_KEY },
    });
    expect(operator.status).toBe(200);
  });

  it(
    sc.resistsForgery
      ? 'ignores an X-Forwarded-For the client wrote itself'
      : 'believes an X-Forwarded-For the client wrote itself (why `true` is unsafe)',
    async () => {
      const client = '127.0.0.7';
      await requestFrom(client, `${front}/admin/health`, {
        headers: { 'x-admin-key': 'wrong-key', 'x-forwarded-for': '203.0.113.66' },
      });
      const last = w.logs
        .records()
        .filter((r) => r.msg === 'admin request with a missing or wrong key')
        .at(-1);
      expect(last?.ip).toBe(sc.resistsForgery ? client : '203.0.113.66');
    },
  );
});
