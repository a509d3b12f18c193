/** The shape of a dependency check, shared by every layer (the Health registry lives in observability/health). */

/** pass: fine; warn: degraded but serving; fail: do not send traffic here. */
export type CheckStatus = 'pass' | 'warn' | 'fail';

/** The outcome of one dependency check. */
export interface CheckResult {
  readonly status: CheckStatus;
  readonly observedValue?: number | string;
  readonly observedUnit?: string;
  readonly output?: string;
}

/** A named dependency check. */
export interface HealthCheck {
  readonly name: string;
  readonly componentType?: string;
  run(): Promise<CheckResult> | CheckResult;
}
