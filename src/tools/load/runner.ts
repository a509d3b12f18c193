/**
 * Runs a scenario with autocannon: each stage holds `target` virtual users (connections) for its
 * duration, each user sending one request per think time. Percentiles come from every response's
 * own time (autocannon reports no p95 of its own); errors are non-2xx answers, timeouts and
 * connection errors.
 */
import autocannon from 'autocannon';
import type { Scenario } from './scenarios.ts';
import type { TrafficGenerator } from './traffic.ts';

/** Figures for one stage (or the whole run). */
export interface StageResult {
  readonly target: number;
  readonly durationSeconds: number;
  readonly requests: number;
  readonly rps: number;
  readonly p50Ms: number | null;
  readonly p95Ms: number | null;
  readonly p99Ms: number | null;
  readonly maxMs: number | null;
  readonly errors: number;
  readonly errorRate: number;
  /** Responses by HTTP status, plus "timeout" and "error" for requests that got none. */
  readonly statuses: Record<string, number>;
  readonly withinThresholds: boolean;
}

/** Options of one run. */
export interface RunOptions {
  readonly url: string;
  readonly scenario: Scenario;
  readonly traffic: TrafficGenerator;
  /** Called about once a second with a one-line progress message. */
  readonly onProgress?: (line: string) => void;
  readonly timeoutSeconds?: number;
}

/** Percentile of sorted values (nearest rank). */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

/** Figures from raw response times and status counts. */
export function summarize(
  times: number[],
  statuses: Record<string, number>,
  target: number,
  durationSeconds: number,
  thresholds: Scenario['thresholds'],
): StageResult {
  const sorted = [...times].sort((a, b) => a - b);
  const requests = Object.values(statuses).reduce((a, b) => a + b, 0);
  let errors = 0;
  for (const [k, n] of Object.entries(statuses)) if (!/^2\d\d$/.test(k)) errors += n;
  const errorRate = requests === 0 ? 1 : errors / requests;
  const p95 = percentile(sorted, 95);
  const round = (v: number | null) => (v === null ? null : Math.round(v * 10) / 10);
  return {
    target,
    durationSeconds,
    requests,
    rps: Math.round((requests / durationSeconds) * 10) / 10,
    p50Ms: round(percentile(sorted, 50)),
    p95Ms: round(p95),
    p99Ms: round(percentile(sorted, 99)),
    maxMs: round(sorted.at(-1) ?? null),
    errors,
    errorRate: Math.round(errorRate * 10_000) / 10_000,
    statuses,
    withinThresholds: requests > 0 && p95 !== null && p95 < thresholds.p95Ms && errorRate < thresholds.errorRate,
  };
}

/** Runs every stage in order; resolves with per-stage and overall figures. */
export async function runScenario(opts: RunOptions): Promise<{ stages: StageResult[]; overall: StageResult }> {
  const { scenario } = opts;
  const allTimes: number[] = [];
  const allStatuses: Record<string, number> = {};
  const stages: StageResult[] = [];
  let totalSeconds = 0;
  for (const [i, stage] of scenario.stages.entries()) {
    const times: number[] = [];
    const statuses: Record<string, number> = {};
    const count = (k: string, n = 1) => {
      statuses[k] = (statuses[k] ?? 0) + n;
    };
    let finish: (err: Error | null, result: autocannon.Result) => void = () => {};
    const done = new Promise<autocannon.Result>((resolve, reject) => {
      finish = (err, result) => (err ? reject(err) : resolve(result));
    });
    const instance = autocannon(
      {
        url: opts.url,
        connections: stage.target,
        duration: stage.durationSeconds,
        timeout: opts.timeoutSeconds ?? 10,
        ...(scenario.thinkTimeMs > 0 ? { connectionRate: 1000 / scenario.thinkTimeMs } : {}),
        requests: [
          {
            setupRequest: (req: autocannon.Request) => {
              const r = opts.traffic.next();
              return { ...req, method: r.method, path: r.path, headers: r.headers, body: r.body };
            },
          },
        ],
      },
      (err, result) => finish(err, result),
    );
    instance.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
      times.push(responseTime);
      count(String(statusCode));
    });
    const started = Date.now();
    const ticker = setInterval(() => {
      const s = Math.round((Date.now() - started) / 1000);
      const n = times.length;
      const errs = Object.entries(statuses).reduce((a, [k, v]) => a + (/^2/.test(k) ? 0 : v), 0);
      opts.onProgress?.(
        `stage ${i + 1}/${scenario.stages.length}: ${stage.target} users, ${s}/${stage.durationSeconds} s, ${n} responses, ${errs} errors`,
      );
    }, 1000);
    const result = await done.finally(() => clearInterval(ticker));
    if (result.timeouts > 0) count('timeout', result.timeouts);
    const connErrors = result.errors - result.timeouts;
    if (connErrors > 0) count('error', connErrors);
    stages.push(summarize(times, statuses, stage.target, stage.durationSeconds, scenario.thresholds));
    allTimes.push(...times);
    for (const [k, v] of Object.entries(statuses)) allStatuses[k] = (allStatuses[k] ?? 0) + v;
    totalSeconds += stage.durationSeconds;
  }
  const peak = Math.max(...scenario.stages.map((s) => s.target));
  return { stages, overall: summarize(allTimes, allStatuses, peak, totalSeconds, scenario.thresholds) };
}
