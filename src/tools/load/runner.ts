/**
 * Runs a scenario with autocannon: each stage holds `target` virtual users (connections) for its
 * duration, each user sending one request per think time. Percentiles come from every response's
 * own time (autocannon reports no p95 of its own); errors are non-2xx answers, timeouts and
 * connection errors.
 */
import autocannon from 'autocannon';
import type { Scenario } from './scenarios.ts';
import type { AcceptedMessage } from './time-to-reply.ts';
import type { TrafficGenerator, TrafficRequest } from './traffic.ts';

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

/** What the dashboards' operator clients saw (their reads are not in the chat figures). */
export interface OperatorResult {
  readonly clients: number;
  readonly intervalMs: number;
  readonly requests: number;
  readonly errors: number;
  readonly p95Ms: number | null;
  readonly statuses: Record<string, number>;
}

/** Options of one run. */
export interface RunOptions {
  readonly url: string;
  readonly scenario: Scenario;
  readonly traffic: TrafficGenerator;
  /** Called about once a second with a one-line progress message. */
  readonly onProgress?: (line: string) => void;
  readonly timeoutSeconds?: number;
  /** Admin key of the operator clients (none: no operator reads). */
  readonly adminKey?: string;
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
export async function runScenario(opts: RunOptions): Promise<{
  stages: StageResult[];
  overall: StageResult;
  accepted: AcceptedMessage[];
  operators: OperatorResult;
}> {
  const { scenario } = opts;
  const accepted: AcceptedMessage[] = [];
  const ops = startOperators(opts);
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
            setupRequest: (req: autocannon.Request, context: { sent?: TrafficRequest }) => {
              const r = opts.traffic.next();
              context.sent = r;
              return { ...req, method: r.method, path: r.path, headers: r.headers, body: r.body };
            },
            // One request in flight per connection: the context holds the one this answers.
            onResponse: (status: number, _body: string, context: { sent?: TrafficRequest }) => {
              const r = context.sent;
              if (status >= 200 && status < 300 && r?.chat && r.n !== undefined && r.kind !== 'health') {
                if (r.kind === 'whatsapp' || r.kind === 'telegram')
                  accepted.push({ channel: r.kind, chat: r.chat, n: r.n, at: Date.now(), stage: i, media: r.media });
              }
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
  return {
    stages,
    overall: summarize(allTimes, allStatuses, peak, totalSeconds, scenario.thresholds),
    accepted,
    operators: await ops.stop(),
  };
}

/** The dashboards: a few operator clients, each reading the stats and sessions at a dashboard's rate. */
function startOperators(opts: RunOptions): { stop(): Promise<OperatorResult> } {
  const { clients, intervalMs } = opts.scenario.operators;
  const times: number[] = [];
  const statuses: Record<string, number> = {};
  const n = opts.adminKey ? clients : 0;
  let running = true;
  const loops: Promise<void>[] = [];
  const read = async (path: string) => {
    const t = performance.now();
    let key = 'error';
    try {
      const res = await fetch(`${opts.url}${path}`, {
        headers: { 'x-admin-key': opts.adminKey ?? '' },
        signal: AbortSignal.timeout((opts.timeoutSeconds ?? 10) * 1000),
      });
      await res.arrayBuffer();
      key = String(res.status);
    } catch (err) {
      key = (err as Error).name === 'TimeoutError' ? 'timeout' : 'error';
    }
    times.push(performance.now() - t);
    statuses[key] = (statuses[key] ?? 0) + 1;
  };
  for (let c = 0; c < n; c++) {
    loops.push(
      (async () => {
        // Spread the clients over the interval, as independent dashboards are.
        await new Promise((r) => setTimeout(r, (intervalMs * c) / Math.max(n, 1)));
        while (running) {
          await Promise.all([read('/admin/stats'), read('/admin/sessions?active=true')]);
          const until = Date.now() + intervalMs;
          while (running && Date.now() < until) await new Promise((r) => setTimeout(r, Math.min(200, intervalMs)));
        }
      })(),
    );
  }
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      const requests = Object.values(statuses).reduce((a, b) => a + b, 0);
      let errors = 0;
      for (const [k, v] of Object.entries(statuses)) if (!/^2\d\d$/.test(k)) errors += v;
      const sorted = [...times].sort((a, b) => a - b);
      const p95 = percentile(sorted, 95);
      return {
        clients: n,
        intervalMs,
        requests,
        errors,
        p95Ms: p95 === null ? null : Math.round(p95 * 10) / 10,
        statuses,
      };
    },
  };
}
