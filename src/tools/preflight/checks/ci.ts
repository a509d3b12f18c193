/**
 * CI/CD: the CI server's status cannot be seen from here, so without --ci this says so (warn);
 * with --ci it runs the repository's own lint, typecheck and unit tests through npm scripts.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { CheckResult, PreflightContext } from './types.ts';
import { section } from './types.ts';

const s = section('CI/CD');

/** The local checks, as npm script invocations. */
export const CI_STEPS: readonly { item: string; args: string[] }[] = [
  { item: 'lint', args: ['run', 'lint'] },
  { item: 'typecheck', args: ['run', 'typecheck'] },
  { item: 'unit tests', args: ['test', '--', 'src'] },
];

/** The CI/CD section; `progress` receives a line before each step (they take a while). */
export async function ciChecks(ctx: PreflightContext, progress: (line: string) => void): Promise<CheckResult[]> {
  if (!ctx.opts.ci) {
    return [
      s.warn(
        'CI server',
        "the CI server's status cannot be seen offline; nothing was run",
        'check the last pipeline of the deployed commit, or run `wadi preflight --ci` in a checkout',
      ),
    ];
  }
  const cwd = ctx.opts.cwd;
  if (!existsSync(path.join(cwd, 'package.json'))) {
    return [s.fail('checkout', `no package.json in ${cwd}`, 'run `wadi preflight --ci` from the repository root')];
  }
  const out: CheckResult[] = [];
  for (const step of CI_STEPS) {
    progress(`running npm ${step.args.join(' ')}`);
    const started = Date.now();
    const { code, tail } = await run('npm', step.args, cwd);
    const secs = ((Date.now() - started) / 1000).toFixed(1);
    out.push(
      code === 0
        ? s.pass(step.item, `npm ${step.args.join(' ')} passed (${secs} s)`)
        : s.fail(
            step.item,
            `npm ${step.args.join(' ')} exited ${code}: ${tail}`,
            `run \`npm ${step.args.join(' ')}\` and fix what it reports`,
          ),
    );
  }
  return out;
}

/** Runs a command; resolves with its exit code and the last non-empty output line. */
function run(cmd: string, args: string[], cwd: string): Promise<{ code: number; tail: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CI: '1' } });
    let out = '';
    const keep = (d: Buffer) => {
      out = (out + d.toString()).slice(-4000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', (err) => resolve({ code: 127, tail: err.message }));
    child.on('close', (code) => {
      const lines = out
        .replace(/\x1b\[[0-9;]*m/g, '')
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean);
      resolve({ code: code ?? 1, tail: (lines.at(-1) ?? '').slice(0, 200) });
    });
  });
}
