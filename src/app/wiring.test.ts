import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestDb, testDatabase } from '../../test/helpers/db.ts';
import { startTestWadi, type TestWadi, testConfig } from '../../test/helpers/wadi.ts';
import type { TelegramWebhookInfo } from '../channels/telegram/webhook-check.ts';
import { AlertEngine } from '../features/alerts/engine.ts';
import { contextSources } from '../features/alerts/sources.ts';
import { Health } from '../observability/health/health.ts';
import { WindowedStats } from '../observability/metrics/window-stats.ts';
import type { ModuleContext } from '../platform/context.ts';

describe('the ops module in a running WADI', () => {
  let t: TestDb;
  let web: TestWadi;
  let worker: TestWadi;
  beforeAll(async () => {
    t = await testDatabase();
    web = await startTestWadi(t.database, { role: 'web' });
    worker = await startTestWadi(t.database, { role: 'worker' });
  });
  afterAll(async () => {
    await worker?.stop();
    await web?.stop();
    await t?.drop();
  });

  it('provides ops.stats and ops.alerts, evaluates alerts in the web role and serves /metrics in every role', async () => {
    expect(web.wadi.wiring.admin.stats).toBeDefined();
    const alerts = web.wadi.wiring.admin.alerts;
    expect(alerts).toBeInstanceOf(AlertEngine);
    for (let i = 0; i < 50 && !(alerts as AlertEngine).isLeader; i++) await new Promise((r) => setTimeout(r, 50));
    expect((alerts as AlertEngine).isLeader).toBe(true);
    expect(await alerts?.firing()).toEqual([]);
    expect(web.wadi.modules.find((m) => m.name === 'alerts')?.services?.map((s) => s.name)).toEqual(['alerts']);
    expect(worker.wadi.modules.find((m) => m.name === 'alerts')?.services ?? []).toEqual([]);
    const res = await fetch(`${worker.url}/metrics`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('process_resident_memory_bytes');
  });
});

describe('alert sources from the typed ports', () => {
  it('calls getWebhookInfo at most once a minute and reads the breaker; backups only when scheduled', async () => {
    const t = await testDatabase();
    try {
      const ctx = {
        config: testConfig(),
        database: t.database,
        logger: { debug() {} },
      } as unknown as ModuleContext;
      const stats = new WindowedStats();
      const opts = {
        stats,
        health: new Health(),
        limits: { cpuCores: 1, memoryBytes: 1e9, source: 'machine' as const },
        startedAt: 0,
        assistant: { breakerOpen: () => open, lastError: () => undefined },
        telegramWebhookInfo: undefined as undefined | (() => Promise<TelegramWebhookInfo>),
      };
      let calls = 0;
      let open = true;
      const s = contextSources(ctx, opts);
      expect(await s.telegramLastErrorDate(0)).toBeUndefined();
      expect(await s.backupLastSuccess(0)).toBeUndefined();
      expect(await s.ready()).toBe(true);

      const withTelegram = contextSources(ctx, {
        ...opts,
        telegramWebhookInfo: async () => {
          calls++;
          return { url: 'https://x', pendingUpdateCount: 0, lastErrorDate: 1000 + calls };
        },
      });
      expect(s.llmBreakerOpen()).toBe(true);
      open = false;
      expect(s.llmBreakerOpen()).toBe(false);
      const now = Date.now();
      expect(await withTelegram.telegramLastErrorDate(now)).toBe(1001);
      expect(await withTelegram.telegramLastErrorDate(now + 10_000)).toBe(1001);
      expect(await withTelegram.telegramLastErrorDate(now + 59_000)).toBe(1001);
      expect(calls).toBe(1);
      expect(await withTelegram.telegramLastErrorDate(now + 60_000)).toBe(1002);
      expect(calls).toBe(2);

      const scheduled = contextSources(
        { ...ctx, config: testConfig({ BACKUP_SCHEDULE: '0 3 * * *' }) },
        { ...opts, startedAt: 42 },
      );
      expect(await scheduled.backupLastSuccess(0)).toBe(42);
    } finally {
      await t.drop();
    }
  });
});
