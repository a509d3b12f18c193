/** The shapes shared by the go-live checks. */
import type { Config, ConfigProblem } from '../../../config/config.ts';
import type { Database } from '../../../db/client.ts';

/** Outcome of one checklist item. */
export type CheckStatus = 'pass' | 'warn' | 'fail';

/** One line of the checklist: what was checked, what was found, and how to fix it. */
export interface CheckResult {
  readonly section: string;
  readonly item: string;
  readonly status: CheckStatus;
  readonly detail: string;
  /** One line telling the operator what to do (absent on pass). */
  readonly fix?: string;
}

/** How `wadi preflight` was asked to run. */
export interface PreflightOptions {
  /** The raw environment (readEnvironment()). */
  readonly env: Record<string, string | undefined>;
  readonly cwd: string;
  /** Base URL of the running deployment (default PUBLIC_URL, else http://127.0.0.1:PORT). */
  readonly url?: string;
  readonly sendTestAlert?: boolean;
  /** Run lint, typecheck and unit tests locally. */
  readonly ci?: boolean;
  readonly now?: () => Date;
  /** Extra trusted CA certificates in PEM (tests; operators use NODE_EXTRA_CA_CERTS). */
  readonly ca?: string;
  /** The http:// URL whose redirect to https is checked (default: PUBLIC_URL over http). */
  readonly httpUrl?: string;
  /** An already-open database (tests); otherwise one is opened from the config. */
  readonly database?: Database;
  /** Per-request timeout (default 5000 ms). */
  readonly timeoutMs?: number;
}

/** What every check can use. */
export interface PreflightContext {
  readonly opts: PreflightOptions;
  /** The configuration as WADI would run with it; undefined when it does not load at all. */
  readonly config?: Config;
  /** Why the configuration did not load as given (then `config` is the development fallback). */
  readonly configProblems: readonly ConfigProblem[];
  readonly baseUrl: string;
  readonly now: () => Date;
  readonly timeoutMs: number;
  /** Set once the database section opened it; undefined when unreachable. */
  database?: Database;
}

/** Builds results for one section. */
export function section(name: string) {
  return {
    pass: (item: string, detail: string): CheckResult => ({ section: name, item, status: 'pass', detail }),
    warn: (item: string, detail: string, fix: string): CheckResult => ({
      section: name,
      item,
      status: 'warn',
      detail,
      fix,
    }),
    fail: (item: string, detail: string, fix: string): CheckResult => ({
      section: name,
      item,
      status: 'fail',
      detail,
      fix,
    }),
  };
}
