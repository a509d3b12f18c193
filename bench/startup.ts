/**
 * What a newcomer waits for: a fresh clone's `npm install`, the first `npm start` (dashboard build,
 * embedded database init, migrations) to a ready dashboard, the second start, and the CLI's
 * `wadi --help` and `wadi config check`, on Node 20 (this machine's node) and Node 24.
 *
 *   node --import tsx bench/startup.ts            # BENCH_NODE24=/path/to/node (default: .ci/run's)
 *   BENCH_RUNS=7 (CLI timings: median of N runs)
 *
 * The clone is `git clone` of this checkout's HEAD (commit what you want measured), installed with
 * the npm cache as it is. "Ready" is /health/ready 200 and /admin serving the dashboard's HTML. The
 * start-up lines WADI prints are recorded too. Results: bench/results/startup.json and .md, with
 * the load average (the figures are only as quiet as the machine).
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, loadavg, tmpdir } from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..');
const NODE20 = process.execPath;
const NODE24 = process.env.BENCH_NODE24 ?? path.join(homedir(), '.cache/wadi-ci/node24/bin/node');
const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const seconds = (ms: number) => Math.round(ms) / 1000;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const version = (node: string) => execFileSync(node, ['--version'], { encoding: 'utf8' }).trim();

interface StartRun {
  readonly readyS: number;
  readonly dashboardS: number;
  readonly stopS: number;
  readonly lines: string[];
}

/** Runs `node bin/wadi.js start` in `clone` until /health/ready and /admin answer, then SIGTERM. */
async function start(node: string, clone: string, port: number): Promise<StartRun> {
  const t0 = performance.now();
  const child = spawn(node, ['bin/wadi.js', 'start'], {
    cwd: clone,
    env: {
      PATH: `${path.dirname(node)}:${process.env.PATH}`,
      HOME: process.env.HOME,
      PORT: String(port),
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  child.stderr.on('data', (d) => {
    out += d;
  });
  const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  const until = async (url: string, check: (r: Response, body: string) => boolean) => {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`wadi start exited ${child.exitCode}:\n${out}`);
      try {
        const r = await fetch(url);
        if (check(r, await r.text())) return performance.now() - t0;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const base = `http://127.0.0.1:${port}`;
  const readyMs = await until(`${base}/health/ready`, (r) => r.status === 200);
  const dashboardMs = await until(`${base}/admin`, (r, b) => r.status === 200 && b.includes('/admin/assets/'));
  const s0 = performance.now();
  child.kill('SIGTERM');
  const code = await exited;
  if (code !== 0) throw new Error(`wadi start exited ${code} on SIGTERM:\n${out}`);
  return {
    readyS: seconds(readyMs),
    dashboardS: seconds(dashboardMs),
    stopS: seconds(performance.now() - s0),
    lines: out.split('\n').filter((l) => l.startsWith('wadi: ')),
  };
}

/** Median wall time of `node bin/wadi.js ...args` over RUNS runs (after one warm-up). */
function cli(node: string, clone: string, args: string[]): number {
  const times: number[] = [];
  for (let i = 0; i <= RUNS; i++) {
    const t0 = performance.now();
    const r = spawnSync(node, ['bin/wadi.js', ...args], { cwd: clone, stdio: 'pipe', env: { ...process.env } });
    if (r.status !== 0) throw new Error(`wadi ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
    if (i > 0) times.push(performance.now() - t0);
  }
  return seconds(median(times));
}

const dir = mkdtempSync(path.join(tmpdir(), 'wadi-startup-'));
const clone = path.join(dir, 'wadi');
const load = [loadavg()[0] as number];
try {
  const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
  execFileSync('git', ['clone', '-q', ROOT, clone]);
  process.stderr.write(`fresh clone of ${commit} in ${clone}\n`);

  const i0 = performance.now();
  const install = spawnSync('npm', ['install', '--no-audit', '--no-fund'], { cwd: clone, encoding: 'utf8' });
  const installS = seconds(performance.now() - i0);
  if (install.status !== 0) throw new Error(`npm install failed:\n${install.stderr}`);
  const warnings = `${install.stdout}\n${install.stderr}`.split('\n').filter((l) => /npm warn/i.test(l));
  process.stderr.write(`npm install: ${installS} s, ${warnings.length} warning line(s)\n`);

  const nodes = [{ name: 'node20', node: NODE20 }, ...(existsSync(NODE24) ? [{ name: 'node24', node: NODE24 }] : [])];
  const results: Record<string, unknown> = {};
  let port = 39_500;
  for (const { name, node } of nodes) {
    // Each Node gets a first start of its own: no dashboard build, no database yet.
    rmSync(path.join(clone, 'web/dist'), { recursive: true, force: true });
    rmSync(path.join(clone, 'data'), { recursive: true, force: true });
    const first = await start(node, clone, port++);
    load.push(loadavg()[0] as number);
    const second = await start(node, clone, port++);
    load.push(loadavg()[0] as number);
    const help = cli(node, clone, ['--help']);
    const configCheck = cli(node, clone, ['config', 'check']);
    results[name] = { version: version(node), first, second, helpS: help, configCheckS: configCheck };
    process.stderr.write(
      `${name} (${version(node)}): first start ready ${first.readyS} s (dashboard ${first.dashboardS} s), second ${second.readyS} s, --help ${help} s, config check ${configCheck} s\n`,
    );
    for (const l of first.lines) process.stderr.write(`  first:  ${l}\n`);
    for (const l of second.lines) process.stderr.write(`  second: ${l}\n`);
  }

  const report = {
    when: new Date().toISOString(),
    commit,
    machine: `${process.platform} ${process.arch}, load average during the run ${Math.min(...load).toFixed(1)}–${Math.max(...load).toFixed(1)}`,
    install: { command: 'npm install', seconds: installS, warnings },
    ...results,
  };
  writeFileSync(path.join(ROOT, 'bench/results/startup.json'), `${JSON.stringify(report, null, 2)}\n`);
  const rows = nodes.map(({ name }) => {
    const r = results[name] as {
      version: string;
      first: StartRun;
      second: StartRun;
      helpS: number;
      configCheckS: number;
    };
    return `| ${r.version} | ${r.first.readyS} s (dashboard ${r.first.dashboardS} s) | ${r.second.readyS} s | ${r.first.stopS} s | ${r.helpS} s | ${r.configCheckS} s |`;
  });
  const first = (results[nodes[0]?.name ?? ''] as { first: StartRun } | undefined)?.first.lines ?? [];
  writeFileSync(
    path.join(ROOT, 'bench/results/startup.md'),
    [
      `# Start-up (bench/startup.ts, ${report.when}, commit ${commit})`,
      '',
      `Machine: ${report.machine}. Fresh clone; \`npm install\` took ${installS} s with ${warnings.length} warning line(s).`,
      '',
      '| Node | first start to ready | second start | SIGTERM to exit | `wadi --help` | `wadi config check` |',
      '|---|---|---|---|---|---|',
      ...rows,
      '',
      'What the first start prints (Node 20):',
      '',
      '```',
      ...first,
      '```',
      '',
    ].join('\n'),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
