import { describe, expect, it } from 'vitest';
import { metrics } from '../../observability/metrics/metrics.ts';
import { type CounterValue, WebhookCounterWindow } from './webhook-window.ts';

describe('webhook outcomes over a sliding window', () => {
  it('counts only what happened inside the window, per channel, from the cumulative counter', async () => {
    let values: CounterValue[] = [];
    const set = (wa: Record<string, number>) => {
      values = Object.entries(wa).map(([k, value]) => {
        const [channel, outcome] = k.split(':');
        return { labels: { channel, outcome }, value };
      });
    };
    const w = new WebhookCounterWindow(async () => values);
    set({ 'whatsapp:accepted': 100, 'whatsapp:invalid_signature': 7 });
    // What happened before WADI started watching is in no window.
    expect(await w.window(0, 300)).toEqual({});
    set({ 'whatsapp:accepted': 100, 'whatsapp:invalid_signature': 9, 'telegram:unstorable': 2 });
    expect(await w.window(60_000, 300)).toEqual({
      whatsapp: { verified: 0, invalidSignature: 2, unstorable: 0 },
      telegram: { verified: 2, invalidSignature: 0, unstorable: 2 },
    });
    set({
      'whatsapp:accepted': 103,
      'whatsapp:duplicate': 1,
      'whatsapp:malformed': 4,
      'whatsapp:invalid_signature': 9,
      'telegram:unstorable': 2,
    });
    // 400 s later the 300 s window starts after the second sample: only the last changes count.
    expect(await w.window(400_000, 300)).toEqual({ whatsapp: { verified: 4, invalidSignature: 0, unstorable: 0 } });
    // A 15-minute window still reaches the baseline.
    expect(await w.window(400_000, 900)).toEqual({
      whatsapp: { verified: 4, invalidSignature: 2, unstorable: 0 },
      telegram: { verified: 2, invalidSignature: 0, unstorable: 2 },
    });
  });

  it('reads the real wadi_webhook_events_total counter by default', async () => {
    const w = new WebhookCounterWindow();
    const t = Date.now();
    await w.window(t, 900);
    metrics.webhookEvents.inc({ channel: 'telegram', outcome: 'invalid_signature' }, 3);
    expect((await w.window(t + 10_000, 900)).telegram).toEqual({ verified: 0, invalidSignature: 3, unstorable: 0 });
  });
});
