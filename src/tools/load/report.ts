/** Turns a load run into a verdict, a readable table and JSON. */
import type { StageResult } from './runner.ts';
import type { Scenario } from './scenarios.ts';

/** What happened on the server side during the run (sandbox mode and /metrics permitting). */
export interface ServerSide {
  /** Replies the sandbox fakes received during the run. */
  readonly replies?: number;
  /** Inbound messages still waiting when the run ended, and after draining. */
  readonly pendingAtEnd?: number;
  readonly pendingAfterDrain?: number;
  readonly drainSeconds?: number;
  readonly note?: string;
}

/** The full report of a run. */
export interface LoadReport {
  readonly scenario: string;
  readonly url: string;
  readonly startedAt: string;
  readonly thresholds: Scenario['thresholds'];
  readonly stages: readonly StageResult[];
  readonly overall: StageResult;
  /** Stress only: the highest user count whose stage met the thresholds (null if none did). */
  readonly breakingPoint?: number | null;
  readonly passed: boolean;
  readonly failures: readonly string[];
  readonly server: ServerSide;
}

/** Decides pass/fail: smoke and load on the whole run, stress on its breaking point. */
export function verdict(scenario: Scenario, stages: readonly StageResult[], overall: StageResult) {
  const failures: string[] = [];
  let breakingPoint: number | null | undefined;
  if (scenario.breakingPoint) {
    breakingPoint = null;
    for (const s of stages) {
      if (!s.withinThresholds) break;
      breakingPoint = s.target;
    }
    if (breakingPoint === null)
      failures.push(`even the first stage (${stages[0]?.target} users) breached the thresholds`);
  } else {
    if (overall.p95Ms === null || overall.p95Ms >= scenario.thresholds.p95Ms) {
      failures.push(`p95 ${overall.p95Ms ?? '–'} ms is not below ${scenario.thresholds.p95Ms} ms`);
    }
    if (overall.errorRate >= scenario.thresholds.errorRate) {
      failures.push(
        `error rate ${(overall.errorRate * 100).toFixed(2)} % is not below ${scenario.thresholds.errorRate * 100} %`,
      );
    }
  }
  return { passed: failures.length === 0, failures, breakingPoint };
}

/** A fixed-width table for the terminal. */
export function formatReport(r: LoadReport): string {
  const row = (cells: (string | number | null)[]) =>
    cells.map((c, i) => String(c ?? '–').padStart(i === 0 ? 8 : 10)).join(' ');
  const lines = [
    `scenario ${r.scenario} against ${r.url}`,
    `thresholds: p95 < ${r.thresholds.p95Ms} ms, errors < ${r.thresholds.errorRate * 100} %`,
    '',
    row(['users', 'seconds', 'requests', 'rps', 'p50 ms', 'p95 ms', 'p99 ms', 'errors %', 'ok']),
    ...r.stages.map((s) =>
      row([
        s.target,
        s.durationSeconds,
        s.requests,
        s.rps,
        s.p50Ms,
        s.p95Ms,
        s.p99Ms,
        (s.errorRate * 100).toFixed(2),
        s.withinThresholds ? 'yes' : 'NO',
      ]),
    ),
    row([
      'all',
      r.overall.durationSeconds,
      r.overall.requests,
      r.overall.rps,
      r.overall.p50Ms,
      r.overall.p95Ms,
      r.overall.p99Ms,
      (r.overall.errorRate * 100).toFixed(2),
      r.overall.withinThresholds ? 'yes' : 'NO',
    ]),
    '',
    `statuses: ${Object.entries(r.overall.statuses)
      .map(([k, v]) => `${k}×${v}`)
      .join(', ')}`,
  ];
  if (r.breakingPoint !== undefined)
    lines.push(`breaking point: ${r.breakingPoint ?? 'none'} users still within thresholds`);
  const s = r.server;
  if (s.replies !== undefined) lines.push(`replies sent by WADI during the run: ${s.replies}`);
  if (s.pendingAtEnd !== undefined) {
    lines.push(
      `inbox pending at end: ${s.pendingAtEnd}` +
        (s.pendingAfterDrain !== undefined ? `, after ${s.drainSeconds} s: ${s.pendingAfterDrain}` : ''),
    );
  }
  if (s.note) lines.push(s.note);
  lines.push('', r.passed ? 'PASS' : `FAIL: ${r.failures.join('; ')}`);
  return lines.join('\n');
}
