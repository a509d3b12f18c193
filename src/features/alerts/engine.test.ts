import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../test/helpers/clock.ts';
import { type TestDb, testDatabase } from '../../../test/helpers/db.ts';
import { type Receiver, slackReceiver, telegramReceiver } from '../../../test/helpers/receivers.ts';
import { LogCapture, testConfig } from '../../../test/helpers/wadi.ts';
import { metrics } from '../../observability/metrics/metrics.ts';
import { AlertEngine } from './engine.ts';
import { notifiersFromEnv } from './notifiers.ts';
import { type AlertSources, buildRules } from './rules.ts';
import type { WebhookWindow } from './webhook-window.ts';

const BOT_TOKEN = '123456:alerts-bot-token-abcdefghijklmnop';

/** Synthetic samples the test sets directly. */
function fakeSources() {
  const s = {
    ready: true,
    requests: { requests: 0, serverErrors: 0 },
    webhooks: {} as WebhookWindow,
    cpu: 10 as number | null,
    mem: 10 as number | null,
    inboxAge: null as number | null,
    outbound: { total: 0, failed: 0, tokenInvalid: 0 },
    breaker: false as boolean | undefined,
    telegramErrorAt: undefined as number | undefined,
    backupAt: undefined as number | undefined,
  };
  const sources: AlertSources = {
    ready: async () => s.ready,
    requests: () => s.requests,
    webhookEvents: async () => s.webhooks,
    cpuPercent: () => s.cpu,
    memoryPercent: () => s.mem,
    oldestPendingInboxSeconds: async () => s.inboxAge,
    outbound: async () => s.outbound,
    llmBreakerOpen: () => s.breaker,
    telegramLastErrorDate: async () => s.telegramErrorAt,
    backupLastSuccess: async () => s.backupAt,
  };
  return { s, sources };
}

type Samples = ReturnType<typeof fakeSources>['s'];

/** How to make each rule's condition true and false again, and its `for` with default settings. */
const CASES: {
  alert: string;
  forSeconds: number;
  on: (s: Samples, now: number) => void;
  off: (s: Samples, now: number) => void;
}[] = [
  {
    alert: 'ServiceNotReady',
    forSeconds: 60,
    on: (s) => Object.assign(s, { ready: false }),
    off: (s) => Object.assign(s, { ready: true }),
  },
  {
    alert: 'HighErrorRate',
    forSeconds: 60,
    on: (s) => Object.assign(s, { requests: { requests: 200, serverErrors: 40 } }),
    off: (s) => Object.assign(s, { requests: { requests: 200, serverErrors: 2 } }),
  },
  {
    alert: 'WebhookSignatureInvalid',
    forSeconds: 0,
    on: (s) => Object.assign(s, { webhooks: { whatsapp: { verified: 0, invalidSignature: 6, unstorable: 0 } } }),
    off: (s) => Object.assign(s, { webhooks: {} }),
  },
  {
    alert: 'HighCpu',
    forSeconds: 120,
    on: (s) => Object.assign(s, { cpu: 95 }),
    off: (s) => Object.assign(s, { cpu: 20 }),
  },
  {
    alert: 'HighMemory',
    forSeconds: 120,
    on: (s) => Object.assign(s, { mem: 91 }),
    off: (s) => Object.assign(s, { mem: 40 }),
  },
  {
    alert: 'InboxBacklog',
    forSeconds: 60,
    on: (s) => Object.assign(s, { inboxAge: 900 }),
    off: (s) => Object.assign(s, { inboxAge: null }),
  },
  {
    alert: 'OutboundFailures',
    forSeconds: 0,
    on: (s) => Object.assign(s, { outbound: { total: 40, failed: 20, tokenInvalid: 0 } }),
    off: (s) => Object.assign(s, { outbound: { total: 40, failed: 1, tokenInvalid: 0 } }),
  },
  {
    alert: 'LlmUnavailable',
    forSeconds: 60,
    on: (s) => Object.assign(s, { breaker: true }),
    off: (s) => Object.assign(s, { breaker: false }),
  },
  {
    alert: 'TelegramWebhookErrors',
    forSeconds: 0,
    on: (s, now) => Object.assign(s, { telegramErrorAt: Math.floor(now / 1000) - 30 }),
    off: (s, now) => Object.assign(s, { telegramErrorAt: Math.floor(now / 1000) - 3600 }),
  },
  {
    alert: 'WhatsAppTokenInvalid',
    forSeconds: 0,
    on: (s) => Object.assign(s, { outbound: { total: 3, failed: 3, tokenInvalid: 3 } }),
    off: (s) => Object.assign(s, { outbound: { total: 0, failed: 0, tokenInvalid: 0 } }),
  },
  {
    alert: 'BackupStale',
    forSeconds: 0,
    on: (s, now) => Object.assign(s, { backupAt: now - 30 * 3600_000 }),
    off: (s, now) => Object.assign(s, { backupAt: now - 3600_000 }),
  },
];

async function firingGauge(alert: string): Promise<number | undefined> {
  return (await metrics.alertsFiring.get()).values.find((v) => v.labels.alert === alert)?.value;
}

describe('alert rules: pending → firing → resolved, with notifications', () => {
  let t: TestDb;
  let telegram: Receiver;
  let slack: Receiver;
  const engines: AlertEngine[] = [];
  beforeAll(async () => {
    t = await testDatabase();
    telegram = await telegramReceiver();
    slack = await slackReceiver();
  });
  afterEach(async () => {
    for (const e of engines.splice(0)) await e.stop();
    // Each test starts from a clean history, as a first deployment would.
    await t.database.query('delete from alert_events');
    await t.database.query(`delete from kv where key = 'alerts:rules'`);
    telegram.received.length = 0;
    slack.received.length = 0;
  });
  afterAll(async () => {
    await telegram.close();
    await slack.close();
    await t.drop();
  });

  function setup(env: Record<string, string> = {}) {
    const config = testConfig({
      ALERT_TELEGRAM_CHAT_ID: '-100777',
      ALERT_TELEGRAM_BOT_TOKEN: BOT_TOKEN,
      TELEGRAM_API_URL: telegram.url,
      ALERT_SLACK_WEBHOOK_URL: slack.url,
      ...env,
    });
    const { s, sources } = fakeSources();
    const clock = new ManualClock(Date.now());
    const logs = new LogCapture();
    const engine = new AlertEngine({
      database: t.database,
      rules: buildRules(config.env, sources),
      notifiers: notifiersFromEnv(config.env),
      logger: pino({ level: 'debug' }, logs),
      repeatSeconds: config.env.ALERT_REPEAT_SECONDS,
      runbookBase: config.env.ALERT_RUNBOOK_BASE_URL,
      clock,
    });
    engines.push(engine);
    return {
      s,
      engine,
      logs,
      now: () => clock.now(),
      advance: async (seconds: number) => {
        clock.advance(seconds * 1000);
        await engine.tick();
      },
    };
  }

  it.each(CASES)('$alert fires after its `for` ($forSeconds s) and resolves', async (c) => {
    const h = setup();
    c.on(h.s, h.now());
    await h.engine.tick();
    if (c.forSeconds > 0) {
      expect(telegram.received).toHaveLength(0);
      const pending = await h.engine.pending();
      expect(pending.find((a) => a.alert === c.alert)?.state).toBe('pending');
      expect((await h.engine.firing()).find((a) => a.alert === c.alert)).toBeUndefined();
      await h.advance(c.forSeconds - 10);
      expect(telegram.received).toHaveLength(0);
      expect(await firingGauge(c.alert)).toBe(0);
      await h.advance(10);
    }
    expect(telegram.received).toHaveLength(1);
    expect(slack.received).toHaveLength(1);
    const text = telegram.received[0].text;
    expect(text).toContain(`FIRING: ${c.alert}`);
    expect(text).toMatch(/Value: .+/);
    expect(text).toMatch(/Threshold: .+/);
    expect(text).toMatch(/Started: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/);
    expect(text).toContain(`Runbook: docs/operations.md#alert-${c.alert.toLowerCase()}`);
    expect(telegram.received[0].body.chat_id).toBe('-100777');
    expect(slack.received[0].text).toBe(text);
    expect(await firingGauge(c.alert)).toBe(1);
    const firing = await h.engine.firing();
    expect(firing.find((a) => a.alert === c.alert)?.state).toBe('firing');

    // Still firing a minute later: no new notification before ALERT_REPEAT_SECONDS.
    await h.advance(60);
    expect(telegram.received).toHaveLength(1);

    c.off(h.s, h.now());
    await h.advance(10);
    expect(telegram.received).toHaveLength(2);
    expect(telegram.received[1].text).toContain(`RESOLVED: ${c.alert}`);
    expect(telegram.received[1].text).toMatch(/Resolved: .+ \(after .+\)/);
    expect(slack.received[1].text).toContain(`RESOLVED: ${c.alert}`);
    expect(await firingGauge(c.alert)).toBe(0);
    const recent = await h.engine.recent(5);
    expect(recent[0]).toMatchObject({ alert: c.alert, state: 'resolved' });
    expect(await h.engine.firing()).toEqual([]);
    expect(h.logs.text()).not.toContain(BOT_TOKEN);
  });

  it('a condition that clears before its `for` never notifies', async () => {
    const h = setup();
    h.s.cpu = 99;
    await h.engine.tick();
    await h.advance(60);
    h.s.cpu = 5;
    await h.advance(10);
    await h.advance(300);
    expect(telegram.received).toHaveLength(0);
    expect((await h.engine.recent(10)).filter((a) => a.alert === 'HighCpu' && a.state === 'firing')).toEqual([]);
  });

  it('HighErrorRate stays quiet below the minimum number of requests', async () => {
    const h = setup();
    h.s.requests = { requests: 10, serverErrors: 10 };
    await h.engine.tick();
    await h.advance(600);
    expect(telegram.received).toHaveLength(0);
    const rule = (await h.engine.rules()).rules.find((r) => r.alert === 'HighErrorRate');
    expect(rule).toMatchObject({ state: 'ok', value: '100 % of 10 requests (10 5xx, 0 webhook events not stored)' });
  });

  it('HighErrorRate counts webhook events acknowledged but not stored, next to 5xx', async () => {
    const h = setup();
    h.s.requests = { requests: 100, serverErrors: 2 };
    h.s.webhooks = { telegram: { verified: 10, invalidSignature: 0, unstorable: 6 } };
    await h.engine.tick();
    expect((await h.engine.pending()).map((a) => [a.alert, a.value])).toEqual([
      ['HighErrorRate', '8 % of 100 requests (2 5xx, 6 webhook events not stored)'],
    ]);
    await h.advance(60);
    expect(telegram.received.map((r) => r.text.split('\n')[0])).toEqual(['🔥 FIRING: HighErrorRate']);
    expect((await h.engine.pending()).map((a) => a.alert)).toEqual([]);
    h.s.webhooks = {};
    await h.advance(10);
  });

  it('WebhookSignatureInvalid stays quiet when verified deliveries arrive too (forgeries, not a wrong secret)', async () => {
    const h = setup();
    h.s.webhooks = { whatsapp: { verified: 3, invalidSignature: 50, unstorable: 0 } };
    await h.engine.tick();
    h.s.webhooks = { telegram: { verified: 0, invalidSignature: 4, unstorable: 0 } };
    await h.advance(10);
    expect(telegram.received).toHaveLength(0);
    const rule = (await h.engine.rules()).rules.find((r) => r.alert === 'WebhookSignatureInvalid');
    expect(rule).toMatchObject({ state: 'ok', value: 'telegram: 4 refused, 0 verified' });
    h.s.webhooks = { telegram: { verified: 0, invalidSignature: 5, unstorable: 0 } };
    await h.advance(10);
    expect(telegram.received.map((r) => r.text.split('\n')[0])).toEqual(['🔥 FIRING: WebhookSignatureInvalid']);
    h.s.webhooks = {};
    await h.advance(10);
  });

  it('ALERT_SIGNATURE_FAILURES_MIN sets the threshold and ALERT_RUNBOOK_BASE_URL the runbook link', async () => {
    const h = setup({
      ALERT_SIGNATURE_FAILURES_MIN: '2',
      ALERT_RUNBOOK_BASE_URL: 'https://git.example.com/acme/wadi/blob/main/',
    });
    h.s.webhooks = { whatsapp: { verified: 0, invalidSignature: 1, unstorable: 0 } };
    await h.engine.tick();
    expect(telegram.received).toHaveLength(0);
    h.s.webhooks = { whatsapp: { verified: 0, invalidSignature: 2, unstorable: 0 } };
    await h.advance(10);
    expect(telegram.received.map((r) => r.text.split('\n')[0])).toEqual(['🔥 FIRING: WebhookSignatureInvalid']);
    expect(telegram.received[0].text).toContain(
      'Runbook: https://git.example.com/acme/wadi/blob/main/docs/operations.md#alert-webhooksignatureinvalid',
    );
    const rule = (await h.engine.rules()).rules.find((r) => r.alert === 'WebhookSignatureInvalid');
    expect(rule?.threshold).toContain('>= 2 deliveries');
    h.s.webhooks = {};
    await h.advance(10);
  });

  it('lists every rule with its state and value, pending apart from firing, for every replica', async () => {
    const h = setup();
    expect((await h.engine.rules()).evaluatedAt).toBeUndefined();
    h.s.cpu = 95;
    h.s.breaker = true;
    await h.engine.tick();
    await h.advance(60);
    const snap = await h.engine.rules();
    expect(snap.evaluatedAt).toBe(new Date(h.now()).toISOString());
    const states = Object.fromEntries(snap.rules.map((r) => [r.alert, r.state]));
    expect(states).toMatchObject({
      HighCpu: 'pending',
      LlmUnavailable: 'firing',
      HighMemory: 'ok',
      ServiceNotReady: 'ok',
    });
    // BackupStale has no data without BACKUP_SCHEDULE (the fake answers undefined).
    expect(states.BackupStale).toBe('no_data');
    expect(snap.rules.map((r) => r.alert)).toEqual(buildRules(testConfig().env, {} as never).map((r) => r.name));
    expect(snap.rules.find((r) => r.alert === 'HighCpu')).toMatchObject({ value: '95 %', forSeconds: 120 });
    expect((await h.engine.pending()).map((a) => a.alert)).toEqual(['HighCpu']);
    expect((await h.engine.firing()).map((a) => a.alert)).toEqual(['LlmUnavailable']);
    expect(h.engine.destinations()).toEqual(['telegram', 'slack']);
    h.s.cpu = 10;
    h.s.breaker = false;
    await h.advance(10);
  });

  it('repeats a firing alert every ALERT_REPEAT_SECONDS', async () => {
    const h = setup({ ALERT_REPEAT_SECONDS: '600' });
    h.s.outbound = { total: 50, failed: 50, tokenInvalid: 0 };
    await h.engine.tick();
    expect(telegram.received.map((r) => r.text.split('\n')[0])).toEqual(['🔥 FIRING: OutboundFailures']);
    await h.advance(590);
    expect(telegram.received).toHaveLength(1);
    await h.advance(10);
    expect(telegram.received.map((r) => r.text.split('\n')[0])).toEqual([
      '🔥 FIRING: OutboundFailures',
      '🔥 STILL FIRING: OutboundFailures',
    ]);
    h.s.outbound = { total: 50, failed: 0, tokenInvalid: 0 };
    await h.advance(10);
  });

  it('a notifier outage does not lose the alert: it is retried with backoff, the healthy one is not spammed', async () => {
    const h = setup();
    slack.failNext(3);
    h.s.breaker = true;
    await h.engine.tick();
    await h.advance(60);
    expect(telegram.received).toHaveLength(1);
    expect(slack.received).toHaveLength(0);
    expect(h.logs.text()).toContain('alert notification failed; will retry');
    expect(h.logs.text()).not.toContain('/services/T000');
    // Backoff 10 s, 20 s, 40 s: the fourth attempt gets through.
    for (let i = 0; i < 10 && slack.received.length === 0; i++) await h.advance(10);
    expect(slack.received).toHaveLength(1);
    expect(slack.received[0].text).toContain('FIRING: LlmUnavailable');
    expect(telegram.received).toHaveLength(1);
    const { rows } = await t.database.query<{ notify_errors: number; last_notified_at: Date | null }>(
      `select notify_errors, last_notified_at from alert_events where alert = 'LlmUnavailable' order by id desc limit 1`,
    );
    expect(rows[0].notify_errors).toBe(3);
    expect(rows[0].last_notified_at).not.toBeNull();

    // Both receivers down while it resolves: the resolution is still delivered later.
    telegram.failNext(2);
    slack.failNext(2);
    h.s.breaker = false;
    await h.advance(10);
    expect(telegram.received).toHaveLength(1);
    for (let i = 0; i < 10 && slack.received.length < 2; i++) await h.advance(10);
    expect(telegram.received.at(-1)?.text).toContain('RESOLVED: LlmUnavailable');
    expect(slack.received.at(-1)?.text).toContain('RESOLVED: LlmUnavailable');
  });

  it('closes episodes of rules that no longer exist instead of showing them firing forever', async () => {
    await t.database.query(
      `insert into alert_events (alert, state, started_at, last_notified_at) values ('RetiredRule', 'firing', now(), now())`,
    );
    const h = setup();
    await h.engine.tick();
    expect(await h.engine.firing()).toEqual([]);
    expect((await h.engine.recent(1))[0]).toMatchObject({ alert: 'RetiredRule', state: 'resolved' });
    expect(telegram.received).toHaveLength(0);
  });

  it('rules without their feature (no assistant, no backups) never fire', async () => {
    const h = setup();
    h.s.breaker = undefined;
    h.s.backupAt = undefined;
    h.s.cpu = null;
    await h.engine.tick();
    await h.advance(3600);
    expect(telegram.received).toHaveLength(0);
  });
});
