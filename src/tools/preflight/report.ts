/** Human-readable rendering of the checklist: one table per section, a fix under each problem. */

import type { CheckResult, CheckStatus } from './checks/types.ts';
import { summarize } from './run.ts';

const MARK: Record<CheckStatus, string> = { pass: '✓ pass', warn: '! warn', fail: '✗ FAIL' };

/** The checklist as text. */
export function formatReport(results: readonly CheckResult[], baseUrl?: string): string {
  const lines: string[] = [];
  if (baseUrl) lines.push(`WADI go-live checklist for ${baseUrl}`, '');
  const width = Math.min(28, Math.max(...results.map((r) => r.item.length), 4));
  let current = '';
  for (const r of results) {
    if (r.section !== current) {
      if (current) lines.push('');
      lines.push(r.section);
      current = r.section;
    }
    lines.push(`  ${MARK[r.status]}  ${r.item.padEnd(width)}  ${r.detail}`);
    if (r.fix && r.status !== 'pass') lines.push(`  ${' '.repeat(6)}  ${' '.repeat(width)}  fix: ${r.fix}`);
  }
  const n = summarize(results);
  lines.push(
    '',
    `${n.pass} passed, ${n.warn} warning(s), ${n.fail} failed${n.fail > 0 ? ': not ready to go live' : ''}`,
  );
  return `${lines.join('\n')}\n`;
}
