/**
 * Liveness and readiness. Liveness answers from memory only; readiness runs every registered
 * dependency check in parallel, each under a short timeout, and fails while shutting down.
 * The body is `application/health+json` (draft-inadarei-api-health-check).
 */

import type { CheckResult, CheckStatus, HealthCheck } from '../../kernel/health.ts';

export type { CheckResult, CheckStatus, HealthCheck };

/** A readiness report as served by /health/ready. */
export interface HealthReport {
  readonly status: CheckStatus;
  readonly checks: Record<string, (CheckResult & { time: string; componentType?: string })[]>;
  readonly output?: string;
}

const ORDER: Record<CheckStatus, number> = { pass: 0, warn: 1, fail: 2 };

/** The process's health state: registered checks and the shutting-down flag. */
export class Health {
  private readonly checks: HealthCheck[] = [];
  private shuttingDown = false;

  private readonly timeoutMs: number;
  constructor(timeoutMs = 1500) {
    this.timeoutMs = timeoutMs;
  }

  /** Adds a dependency to readiness. */
  register(check: HealthCheck): void {
    this.checks.push(check);
  }

  /** From now on readiness fails (SIGTERM received). */
  markShuttingDown(): void {
    this.shuttingDown = true;
  }

  get isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  /**
   * Runs every check; never throws. `public: true` (the unauthenticated /health/ready) replaces a
   * dependency's raw error (`connect ECONNREFUSED 10.0.0.5:5432`: addresses, ports, versions) with
   * `unreachable`; /admin/health keeps the detail.
   */
  async ready(opts: { public?: boolean } = {}): Promise<HealthReport> {
    const time = new Date().toISOString();
    const results = await Promise.all(
      this.checks.map(async (c) => {
        const r = await this.runOne(c);
        return { check: c, result: opts.public && r.raw ? { status: r.status, output: 'unreachable' } : r.result };
      }),
    );
    const checks: HealthReport['checks'] = {};
    let status: CheckStatus = 'pass';
    for (const { check, result } of results) {
      checks[check.name] = [{ ...result, componentType: check.componentType, time }];
      if (ORDER[result.status] > ORDER[status]) status = result.status;
    }
    if (this.shuttingDown) {
      return { status: 'fail', checks, output: 'shutting down' };
    }
    return { status, checks };
  }

  /** One check's result; `raw` when its output is the dependency's own error message. */
  private async runOne(check: HealthCheck): Promise<{ result: CheckResult; status: CheckStatus; raw: boolean }> {
    let timer: NodeJS.Timeout | undefined;
    try {
      const result = await Promise.race([
        Promise.resolve(check.run()),
        new Promise<CheckResult>((resolve) => {
          timer = setTimeout(
            () => resolve({ status: 'fail', output: `no answer within ${this.timeoutMs} ms` }),
            this.timeoutMs,
          );
        }),
      ]);
      return { result, status: result.status, raw: false };
    } catch (err) {
      return { result: { status: 'fail', output: (err as Error).message }, status: 'fail', raw: true };
    } finally {
      clearTimeout(timer);
    }
  }
}
