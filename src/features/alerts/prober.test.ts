import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, spawnWadi } from '../../../test/helpers/cli.ts';
import { ManualClock } from '../../../test/helpers/clock.ts';
import { type Receiver, slackReceiver, telegramReceiver } from '../../../test/helpers/receivers.ts';
import { notifiersFromEnv } from './notifiers.ts';
import { Prober } from './prober.ts';

/** A stand-in WADI whose readiness the test flips. */
async function target(): Promise<{ url: string; setStatus(s: number): void; close(): void }> {
  let status = 200;
  const server: Server = createServer((req, res) => {
    res.writeHead(req.url === '/health/ready' ? status : 404, { 'content-type': 'application/health+json' });
    res.end(JSON.stringify({ status: status === 200 ? 'pass' : 'fail' }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    setStatus: (s) => {
      status = s;
    },
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

const env = (telegram: Receiver, slack: Receiver) =>
  notifiersFromEnv({
    ALERT_TELEGRAM_CHAT_ID: '99',
    ALERT_TELEGRAM_BOT_TOKEN: '555:watch-token-abcdefghijklmnopq',
    TELEGRAM_BOT_TOKEN: undefined,
    TELEGRAM_API_URL: telegram.url,
    ALERT_SLACK_WEBHOOK_URL: slack.url,
  });

describe('external prober', () => {
  let wadi: Awaited<ReturnType<typeof target>>;
  let telegram: Receiver;
  let slack: Receiver;
  beforeAll(async () => {
    wadi = await target();
    telegram = await telegramReceiver();
    slack = await slackReceiver();
  });
  afterAll(async () => {
    wadi.close();
    await telegram.close();
    await slack.close();
  });

  it('alerts after the failure lasted `for`, repeats, retries a failed notifier, and reports recovery', async () => {
    const clock = new ManualClock(Date.now());
    const lines: string[] = [];
    const p = new Prober({
      url: wadi.url,
      forSeconds: 60,
      repeatSeconds: 3600,
      notifiers: env(telegram, slack),
      clock,
      log: (l) => lines.push(l),
    });
    const step = async (s: number) => {
      clock.advance(s * 1000);
      await p.poll();
    };
    await step(0);
    wadi.setStatus(503);
    slack.failNext(1);
    await step(10);
    await step(30);
    expect(telegram.received).toHaveLength(0);
    await step(30);
    expect(p.isFiring).toBe(true);
    expect(telegram.received).toHaveLength(1);
    expect(telegram.received[0].text).toContain('FIRING: ServiceNotReady');
    expect(telegram.received[0].text).toContain('Value: HTTP 503');
    expect(telegram.received[0].text).toContain('Host: wadi watch on');
    expect(slack.received).toHaveLength(0);
    await step(10);
    expect(slack.received).toHaveLength(1);
    expect(telegram.received).toHaveLength(1);
    await step(3600);
    expect(telegram.received.at(-1)?.text).toContain('STILL FIRING: ServiceNotReady');
    wadi.setStatus(200);
    await step(10);
    expect(telegram.received.at(-1)?.text).toContain('RESOLVED: ServiceNotReady');
    expect(slack.received.at(-1)?.text).toContain('RESOLVED: ServiceNotReady');
    expect(p.undelivered).toBe(0);
    expect(lines.some((l) => l.includes('will retry'))).toBe(true);
  });

  it('a blip shorter than `for` notifies nobody; an unreachable service counts as failing', async () => {
    telegram.received.length = 0;
    const clock = new ManualClock(Date.now());
    const p = new Prober({
      url: `http://127.0.0.1:${await freePort()}`,
      forSeconds: 30,
      repeatSeconds: 3600,
      notifiers: env(telegram, slack),
      clock,
      log: () => {},
    });
    await p.poll();
    clock.advance(20_000);
    await p.poll();
    expect(telegram.received).toHaveLength(0);
    clock.advance(20_000);
    await p.poll();
    expect(telegram.received[0].text).toContain('Value: ECONNREFUSED');
  });

  it('`wadi watch` alerts, recovers and stops cleanly on SIGTERM', async () => {
    telegram.received.length = 0;
    wadi.setStatus(503);
    const proc = spawnWadi(['watch', '--url', wadi.url, '--interval', '0.2', '--for', '0.5'], {
      env: {
        ALERT_TELEGRAM_CHAT_ID: '99',
        ALERT_TELEGRAM_BOT_TOKEN: '555:watch-token-abcdefghijklmnopq',
        TELEGRAM_API_URL: telegram.url,
      },
    });
    const until = async (cond: () => boolean) => {
      for (let i = 0; i < 600 && !cond(); i++) await new Promise((r) => setTimeout(r, 100));
    };
    await until(() => telegram.received.length >= 1);
    expect(telegram.received[0]?.text, proc.output()).toContain('FIRING: ServiceNotReady');
    wadi.setStatus(200);
    await until(() => telegram.received.length >= 2);
    expect(telegram.received[1]?.text, proc.output()).toContain('RESOLVED: ServiceNotReady');
    proc.child.kill('SIGTERM');
    expect(await proc.exited).toBe(0);
    expect(proc.output()).toContain('stopping');
    expect(proc.output()).not.toContain('watch-token');
  }, 120_000);

  it('`wadi watch` rejects a bad URL with one line', async () => {
    const proc = spawnWadi(['watch', '--url', 'ftp://x']);
    expect(await proc.exited).toBe(1);
    expect(proc.output()).toContain('invalid --url');
  }, 60_000);
});
