/**
 * The go-live checklist: runs every section in order against the environment and the running
 * deployment, reporting progress as it goes. Never throws for a failed check: every problem
 * becomes a `fail` item with a one-line fix.
 */
import { type Config, ConfigError, type ConfigProblem, loadConfig } from '../../config/config.ts';
import { backupChecks } from './checks/backups.ts';
import { ciChecks } from './checks/ci.ts';
import { databaseChecks } from './checks/database.ts';
import { domainChecks } from './checks/domain.ts';
import { envChecks } from './checks/env.ts';
import { observabilityChecks } from './checks/observability.ts';
import { securityChecks } from './checks/security.ts';
import type { CheckResult, PreflightContext, PreflightOptions } from './checks/types.ts';
import { webhookChecks } from './checks/webhooks.ts';

/** Progress callbacks (the CLI prints them to stderr). */
export interface PreflightProgress {
  section?(name: string, index: number, total: number): void;
  result?(r: CheckResult): void;
  note?(line: string): void;
}

const SECTIONS: readonly [string, (ctx: PreflightContext, note: (l: string) => void) => Promise<CheckResult[]>][] = [
  ['Env vars', (c) => envChecks(c)],
  ['Security', (c) => securityChecks(c)],
  ['CI/CD', (c, note) => ciChecks(c, note)],
  ['Database', (c) => databaseChecks(c)],
  ['Domain', (c) => domainChecks(c)],
  ['Webhooks', (c) => webhookChecks(c)],
  ['Observability', (c) => observabilityChecks(c)],
  ['Backups', (c) => backupChecks(c)],
];

/** Loads the config as WADI would; if it does not load, the development reading of the same
 * environment, so the other sections can still run and say what they see. */
export function preflightConfig(
  env: Record<string, string | undefined>,
  cwd: string,
): { config?: Config; problems: readonly ConfigProblem[] } {
  try {
    return { config: loadConfig(env, { cwd, persistGeneratedKey: false }), problems: [] };
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    try {
      return {
        config: loadConfig({ ...env, NODE_ENV: 'development' }, { cwd, persistGeneratedKey: false }),
        problems: err.problems,
      };
    } catch {
      return { problems: err.problems };
    }
  }
}

/** The deployment the remote checks talk to: --url, else PUBLIC_URL, else this machine's PORT. */
export function preflightBaseUrl(opts: Pick<PreflightOptions, 'url' | 'env'>, config?: Config): string {
  const port = config?.env.PORT ?? 3000;
  return (opts.url ?? opts.env.PUBLIC_URL?.trim() ?? `http://127.0.0.1:${port}`).replace(/\/+$/, '');
}

/** Runs the whole checklist. */
export async function runPreflight(opts: PreflightOptions, progress: PreflightProgress = {}): Promise<CheckResult[]> {
  const { config, problems } = preflightConfig(opts.env, opts.cwd);
  const baseUrl = preflightBaseUrl(opts, config);
  const ctx: PreflightContext = {
    opts,
    config,
    configProblems: problems,
    baseUrl,
    now: opts.now ?? (() => new Date()),
    timeoutMs: opts.timeoutMs ?? 5000,
    database: opts.database,
  };
  const results: CheckResult[] = [];
  try {
    for (const [i, [name, run]] of SECTIONS.entries()) {
      progress.section?.(name, i + 1, SECTIONS.length);
      let items: CheckResult[];
      try {
        items = await run(ctx, (l) => progress.note?.(l));
      } catch (err) {
        // A bug or an unexpected answer in one section must not hide the others.
        items = [
          {
            section: name,
            item: 'check',
            status: 'fail',
            detail: `the check itself failed: ${(err as Error).message}`,
            fix: 'report this with the output above',
          },
        ];
      }
      for (const r of items) {
        results.push(r);
        progress.result?.(r);
      }
    }
  } finally {
    if (ctx.database && !opts.database) await ctx.database.close().catch(() => {});
  }
  return results;
}

/** Counts by status. */
export function summarize(results: readonly CheckResult[]): { pass: number; warn: number; fail: number } {
  return {
    pass: results.filter((r) => r.status === 'pass').length,
    warn: results.filter((r) => r.status === 'warn').length,
    fail: results.filter((r) => r.status === 'fail').length,
  };
}
