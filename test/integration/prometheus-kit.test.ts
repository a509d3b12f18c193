import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { runbookLink } from '../../src/features/alerts/notifiers.ts';
import { buildRules } from '../../src/features/alerts/rules.ts';
import { registry } from '../../src/observability/metrics/metrics.ts';
import { exportLimits } from '../../src/observability/metrics/resources.ts';
import { promtool, promtoolPath } from '../helpers/promtool.ts';
import { testConfig } from '../helpers/wadi.ts';

const DEPLOY = path.resolve(import.meta.dirname, '../../deploy');
const read = (p: string) => readFileSync(path.join(DEPLOY, p), 'utf8');

interface RuleFile {
  groups: {
    name: string;
    rules: { alert?: string; record?: string; expr: string; annotations?: Record<string, string> }[];
  }[];
}

/** Metric names WADI serves (histograms also as _bucket/_count/_sum), plus Prometheus's own. */
async function knownMetrics(): Promise<Set<string>> {
  exportLimits({ cpuCores: 1, memoryBytes: 1, source: 'machine' });
  const names = new Set<string>(['up', 'probe_success']);
  for (const m of await registry.getMetricsAsJSON()) {
    names.add(m.name);
    for (const suffix of ['_bucket', '_count', '_sum']) names.add(m.name + suffix);
  }
  return names;
}

function metricNames(expr: string): string[] {
  // Recording rules (wadi:…:…) are defined in the same file, not served by WADI.
  const words =
    expr
      .replace(/"[^"]*"/g, '""')
      .replace(/\bwadi:[\w:]+/g, '')
      .match(/\b(?:wadi_|http_|process_|nodejs_|up\b|probe_)\w*/g) ?? [];
  return [...new Set(words)];
}

describe('the Prometheus kit in deploy/', () => {
  const promtoolBin = promtoolPath();

  it.runIf(promtoolBin)(
    'alerts.yml passes `promtool check rules` and its unit tests',
    () => {
      const check = promtool(['check', 'rules', path.join(DEPLOY, 'prometheus/alerts.yml')]);
      expect(check.status, check.output).toBe(0);
      const test = promtool([
        'test',
        'rules',
        path.join(DEPLOY, 'prometheus/alerts.test.yml'),
        path.join(DEPLOY, 'prometheus/alerts-backup.test.yml'),
      ]);
      expect(test.status, test.output).toBe(0);
      expect(test.output).toContain('SUCCESS');
    },
    180_000,
  );

  it.runIf(promtoolBin)('prometheus.yml is a valid configuration', () => {
    const r = promtool(['check', 'config', '--syntax-only', path.join(DEPLOY, 'prometheus/prometheus.yml')]);
    expect(r.status, r.output).toBe(0);
  });

  it('has every built-in alert, with the same runbook link, using only metrics WADI serves', async () => {
    const file = parse(read('prometheus/alerts.yml')) as RuleFile;
    const rules = file.groups.flatMap((g) => g.rules);
    const alerts = new Map(rules.filter((r) => r.alert).map((r) => [r.alert as string, r]));
    const builtIn = buildRules(testConfig().env, {} as never).map((r) => r.name);
    expect([...alerts.keys()].sort()).toEqual([...builtIn].sort());
    for (const name of builtIn) expect(alerts.get(name)?.annotations?.runbook_url, name).toBe(runbookLink(name));
    const known = await knownMetrics();
    for (const r of rules) {
      for (const m of metricNames(r.expr)) {
        expect(known.has(m), `${r.alert ?? r.record}: ${m}`).toBe(true);
      }
    }
  });

  it('the Grafana dashboard charts only metrics WADI serves, covering the required views', async () => {
    const dash = JSON.parse(read('grafana/wadi.json')) as { panels: { title: string; targets: { expr: string }[] }[] };
    const known = await knownMetrics();
    for (const p of dash.panels) {
      for (const t of p.targets)
        for (const m of metricNames(t.expr)) expect(known.has(m), `${p.title}: ${m}`).toBe(true);
    }
    const titles = dash.panels.map((p) => p.title.toLowerCase()).join('|');
    for (const want of [
      'requests per second',
      'p95',
      'error rate',
      'inbox lag',
      'outbound',
      'llm latency',
      'llm tokens',
      'cpu',
      'memory',
    ]) {
      expect(titles).toContain(want);
    }
  });

  it('Alertmanager routes to Telegram and Slack and announces resolutions', () => {
    const am = parse(read('alertmanager/alertmanager.yml')) as {
      route: { receiver: string; routes?: { receiver: string }[] };
      receivers: {
        name: string;
        telegram_configs?: { send_resolved: boolean }[];
        slack_configs?: { send_resolved: boolean }[];
      }[];
    };
    const configs = am.receivers.flatMap((r) => [...(r.telegram_configs ?? []), ...(r.slack_configs ?? [])]);
    expect(am.receivers.some((r) => r.telegram_configs?.length)).toBe(true);
    expect(am.receivers.some((r) => r.slack_configs?.length)).toBe(true);
    for (const c of configs) expect(c.send_resolved).toBe(true);
    const names = new Set(am.receivers.map((r) => r.name));
    for (const r of [am.route, ...(am.route.routes ?? [])]) expect(names.has(r.receiver)).toBe(true);
  });
});
