/** Runs Prometheus's promtool (Debian's `prometheus` package) when it is installed. */
import { spawnSync } from 'node:child_process';

/** The promtool binary, or undefined (fails instead when WADI_TEST_REQUIRE_SERVICES=1). */
export function promtoolPath(): string | undefined {
  const probe = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
  if (probe.status === 0) return 'promtool';
  if (process.env.WADI_TEST_REQUIRE_SERVICES === '1') {
    throw new Error('WADI_TEST_REQUIRE_SERVICES=1 but promtool is not installed (apt-get install prometheus)');
  }
  return undefined;
}

/** Runs promtool with `args`, feeding `input` on stdin. */
export function promtool(args: string[], input?: string): { status: number | null; output: string } {
  const r = spawnSync('promtool', args, { input, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}
