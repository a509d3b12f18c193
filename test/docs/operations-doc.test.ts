/**
 * The operations guide is part of the product: every variable the schema accepts is documented
 * with its default, and every alert has the runbook anchor the alert engine links to.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { envSchema } from '../../src/config/schema.ts';

const DOC = readFileSync(path.resolve(import.meta.dirname, '../../docs/operations.md'), 'utf8');

/** Rows of the configuration table: `| \`NAME\` … | default | meaning |`. */
function documentedVariables(): Map<string, { def: string; meaning: string }> {
  const rows = new Map<string, { def: string; meaning: string }>();
  for (const line of DOC.split('\n')) {
    const m = /^\| `([A-Z][A-Z0-9_]*)`[^|]*\|([^|]*)\|(.*)\|\s*$/.exec(line);
    if (m?.[1]) rows.set(m[1], { def: (m[2] ?? '').trim(), meaning: (m[3] ?? '').trim() });
  }
  return rows;
}

const ALERTS = [
  'ServiceNotReady',
  'HighErrorRate',
  'WebhookSignatureInvalid',
  'HighCpu',
  'HighMemory',
  'InboxBacklog',
  'OutboundFailures',
  'LlmUnavailable',
  'TelegramWebhookErrors',
  'WhatsAppTokenInvalid',
  'BackupStale',
];

describe('docs/operations.md', () => {
  it('documents every variable of the config schema with a default and a meaning', () => {
    const documented = documentedVariables();
    const missing = Object.keys(envSchema.shape).filter((name) => !documented.has(name));
    expect(missing, 'add a row to the Configuring table for each').toEqual([]);
    for (const name of Object.keys(envSchema.shape)) {
      const row = documented.get(name);
      expect(row?.def, `${name} default`).not.toBe('');
      expect(row?.meaning.length, `${name} meaning`).toBeGreaterThan(5);
    }
  });

  it('documents no variable the schema does not accept', () => {
    const known = new Set(Object.keys(envSchema.shape));
    const stale = [...documentedVariables().keys()].filter((n) => !known.has(n));
    expect(stale).toEqual([]);
  });

  it('has a runbook section for every alert under the exact anchor alerts link to', () => {
    const runbook = DOC.slice(DOC.indexOf('## Runbook'));
    expect(DOC.indexOf('## Runbook')).toBeGreaterThan(0);
    for (const alert of ALERTS) {
      const anchor = `<a id="alert-${alert.toLowerCase()}"></a>`;
      expect(DOC.split(anchor).length - 1, anchor).toBe(1);
      const start = runbook.indexOf(anchor);
      expect(start, `${alert} is in the Runbook`).toBeGreaterThan(0);
      const section = runbook.slice(start, runbook.indexOf('<a id="alert-', start + anchor.length) >>> 0);
      expect(section).toContain(`### ${alert}`);
      for (const part of ['**Means:**', '**Confirm:**', '**Do:**']) expect(section, `${alert} ${part}`).toContain(part);
    }
  });

  it('covers deploying on each platform, logs retention on each log platform, and secret rotation', () => {
    for (const heading of ['### Docker', '### Docker Compose', '### Kubernetes', '### Railway', '### Render']) {
      expect(DOC).toContain(`\n${heading}\n`);
    }
    for (const platform of ['Loki', 'CloudWatch', 'Datadog', 'Google Cloud Logging']) expect(DOC).toContain(platform);
    expect(DOC).toContain('## Rotating secrets without downtime');
    expect(DOC).toMatch(/\*\*`ADMIN_API_KEY`\*\* takes several comma-separated keys/);
    expect(DOC).not.toContain('BENCH_TABLE');
  });
});
