/** Turns a load run into a verdict, a readable table and JSON. */
import type { OperatorResult, StageResult } from './runner.ts';
import type { Scenario } from './scenarios.ts';
import type { TimeToReply } from './time-to-reply.ts';

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
  /**
   * Webhook accepted → reply accepted by the sandbox's fake platform, per channel and overall (ms);
   * absent when the target is not in sandbox mode.
   */
  readonly timeToReply?: {
    readonly whatsapp?: TimeToReply;
    readonly telegram?: TimeToReply;
    /** With media in the mix: texts, voice notes and images apart. */
    readonly text?: TimeToReply;
    readonly voice?: TimeToReply;
    readonly image?: TimeToReply;
    readonly all: TimeToReply;
  };
  /** Time-to-reply p95 of the messages sent in each stage (same order as `stages`). */
  readonly stageTimeToReplyP95Ms?: readonly (number | null)[];
  /** The fake LLM's latency model during the run (as GET /sandbox/llm/latency shows it). */
  readonly llmLatency?: Record<string, unknown>;
  /** Chat completions the fake LLM answered during the run (sandbox targets only). */
  readonly llmCalls?: number;
  /** Set when the target's assistant never called the fake LLM (its latency did not apply). */
  readonly llmNote?: string;
  readonly operators?: OperatorResult;
  /** `--voice`/`--image`: the shares asked for, the file sizes and how many media messages WADI accepted. */
  readonly media?: {
    readonly voiceShare: number;
    readonly imageShare: number;
    readonly voiceBytes: number;
    readonly imageBytes: number;
    readonly voice: number;
    readonly image: number;
  };
}

/** Time-to-reply within the threshold (true when there is no threshold or no figure). */
export function ttrWithin(scenario: Scenario, t: TimeToReply | undefined): boolean {
  const max = scenario.thresholds.timeToReplyP95Ms;
  if (max === undefined || t === undefined) return true;
  return t.p95Ms !== null && t.p95Ms <= max && t.answered === t.messages;
}

/** Decides pass/fail: smoke and load on the whole run, stress on its breaking point. */
export function verdict(
  scenario: Scenario,
  stages: readonly StageResult[],
  overall: StageResult,
  ttr?: { readonly all: TimeToReply; readonly stages: readonly TimeToReply[] },
) {
  const failures: string[] = [];
  let breakingPoint: number | null | undefined;
  if (scenario.breakingPoint) {
    breakingPoint = null;
    for (const [i, s] of stages.entries()) {
      if (!s.withinThresholds || !ttrWithin(scenario, ttr?.stages[i])) break;
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
    if (ttr && !ttrWithin(scenario, ttr.all)) {
      const t = ttr.all;
      const max = scenario.thresholds.timeToReplyP95Ms;
      // Say which half failed: the p95 over the limit, or messages left unanswered at the end.
      if (t.p95Ms === null || (max !== undefined && t.p95Ms > max)) {
        failures.push(`time-to-reply p95 ${t.p95Ms ?? '–'} ms is not within ${max} ms`);
      }
      if (t.answered !== t.messages) {
        failures.push(`${t.messages - t.answered} of ${t.messages} messages were not answered by the end of the run`);
      }
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
    `thresholds: p95 < ${r.thresholds.p95Ms} ms, errors < ${r.thresholds.errorRate * 100} %` +
      (r.thresholds.timeToReplyP95Ms ? `, time-to-reply p95 ≤ ${r.thresholds.timeToReplyP95Ms} ms` : ''),
    '',
    row(['users', 'seconds', 'requests', 'rps', 'p50 ms', 'p95 ms', 'p99 ms', 'errors %', 'ttr p95', 'ok']),
    ...r.stages.map((s, i) =>
      row([
        s.target,
        s.durationSeconds,
        s.requests,
        s.rps,
        s.p50Ms,
        s.p95Ms,
        s.p99Ms,
        (s.errorRate * 100).toFixed(2),
        r.stageTimeToReplyP95Ms?.[i] ?? null,
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
      r.timeToReply?.all.p95Ms ?? null,
      r.overall.withinThresholds ? 'yes' : 'NO',
    ]),
    '',
    `statuses: ${Object.entries(r.overall.statuses)
      .map(([k, v]) => `${k}×${v}`)
      .join(', ')}`,
  ];
  if (r.timeToReply) {
    lines.push('', 'time-to-reply (webhook accepted → reply accepted by the fake platform):');
    for (const [ch, t] of Object.entries(r.timeToReply)) {
      if (!t) continue;
      lines.push(
        `  ${ch.padEnd(9)} ${t.answered}/${t.messages} answered, p50 ${t.p50Ms ?? '–'} ms, p95 ${t.p95Ms ?? '–'} ms, max ${t.maxMs ?? '–'} ms`,
      );
    }
  }
  if (r.llmLatency) lines.push(`fake LLM latency: ${JSON.stringify(r.llmLatency)} (${r.llmCalls ?? 0} calls)`);
  if (r.llmNote) lines.push(`NOTE: ${r.llmNote}`);
  if (r.operators && r.operators.clients > 0) {
    const o = r.operators;
    lines.push(
      `operators: ${o.clients} dashboard clients every ${o.intervalMs} ms: ${o.requests} reads, ${o.errors} errors, p95 ${o.p95Ms ?? '–'} ms`,
    );
  }
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
