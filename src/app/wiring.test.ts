import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestDb, testDatabase } from '../../test/helpers/db.ts';
import { startTestWadi, type TestWadi, testConfig } from '../../test/helpers/wadi.ts';
import type { ModuleContext } from '../kernel/module.ts';
import { MODULES } from './modules.ts';
import { lookup, provide } from './shared.ts';
import { AlertEngine } from '../features/alerts/engine.ts';
import { contextSources } from '../features/alerts/sources.ts';
import { Health } from '../observability/health/health.ts';
import { WindowedStats } from '../observability/metrics/window-stats.ts';

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
    expect(lookup(web.wadi.context, 'ops.stats')).toBeDefined();
    const alerts = lookup(web.wadi.context, 'ops.alerts');
    expect(alerts).toBeInstanceOf(AlertEngine);
    for (let i = 0; i < 50 && !(alerts as AlertEngine).isLeader; i++) await new Promise((r) => setTimeout(r, 50));
    expect((alerts as AlertEngine).isLeader).toBe(true);
    expect(await alerts?.firing()).toEqual([]);
    expect(web.wadi.modules.find((m) => m.name === 'ops')?.services?.map((s) => s.name)).toEqual(['alerts']);
    expect(worker.wadi.modules.find((m) => m.name === 'ops')?.services ?? []).toEqual([]);
    const res = await fetch(`${worker.url}/metrics`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('process_resident_memory_bytes');
    expect(MODULES.length).toBeGreaterThan(0);
  });
});

describe('alert sources from the registry', () => {
  it('calls getWebhookInfo at most once a minute and reads the breaker; backups only when scheduled', async () => {
    const t = await testDatabase();
    try {
      const registry = new Map<string, unknown>();
      const ctx = {
        config: testConfig(),
        registry,
        database: t.database,
        logger: { debug() {} },
      } as unknown as ModuleContext;
      const stats = new WindowedStats();
      const opts = {
        stats,
        health: new Health(),
        limits: { cpuCores: 1, memoryBytes: 1e9, source: 'machine' as const },
        startedAt: 0,
      };
      const s = contextSources(ctx, opts);
      expect(s.llmBreakerOpen()).toBeUndefined();
      expect(await s.telegramLastErrorDate(0)).toBeUndefined();
      expect(await s.backupLastSuccess(0)).toBeUndefined();
      expect(await s.ready()).toBe(true);

      let calls = 0;
      let open = true;
      provide(ctx, 'telegram.webhookInfo', async () => {
        calls++;
        return { url: 'https://x', pendingUpdateCount: 0, lastErrorDate: 1000 + calls };
      });
      provide(ctx, 'assistant.status', { breakerOpen: () => open, lastError: () => undefined });
      expect(s.llmBreakerOpen()).toBe(true);
      open = false;
      expect(s.llmBreakerOpen()).toBe(false);
      const now = Date.now();
      expect(await s.telegramLastErrorDate(now)).toBe(1001);
      expect(await s.telegramLastErrorDate(now + 10_000)).toBe(1001);
      expect(await s.telegramLastErrorDate(now + 59_000)).toBe(1001);
      expect(calls).toBe(1);
      expect(await s.telegramLastErrorDate(now + 60_000)).toBe(1002);
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
