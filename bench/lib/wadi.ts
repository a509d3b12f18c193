/**
 * What the benchmarks share to run WADI the way a user does: `wadi start` as a child process on
 * 127.0.0.1 (its own working directory, a minimal environment), readiness polling, `wadi load` as
 * the client, and the process figures read from /proc (RSS and its parts, CPU seconds).
 * Used by load-scenarios.ts, time-to-reply.ts and media.ts.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** The checkout the benchmarks run. */
export const ROOT = path.resolve(import.meta.dirname, '../..');
/** The `wadi` command. */
export const BIN = path.join(ROOT, 'bin/wadi.js');
/** The admin key of every benched WADI. */
export const KEY = 'bench-admin-key-0123456789abcdefghijkl';

/** A minimal environment for a `wadi` child: warnings only, JSON logs, the bench admin key, loopback. */
export function benchEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    LOG_LEVEL: 'warn',
    LOG_FORMAT: 'json',
    ADMIN_API_KEY: KEY,
    HOST: '127.0.0.1',
    ...extra,
  };
}

/** Waits until `url`'s /health/ready answers 200; answers how long that took (ms). */
export async function untilReady(url: string, timeoutMs = 120_000, pollMs = 50): Promise<number> {
  const start = performance.now();
  while (performance.now() - start < timeoutMs) {
    const ok = await fetch(`${url}/health/ready`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) return performance.now() - start;
    await new Promise((r) => setTimeout(r, pollMs));
  }
  throw new Error(`${url} not ready in time`);
}

/** A running `wadi start`. */
export interface StartedWadi {
  readonly child: ChildProcess;
  readonly pid: number;
  /** performance.now() when it was spawned. */
  readonly t0: number;
  readonly exited: Promise<number | null>;
  /** SIGTERM, then waits for the exit. */
  stop(): Promise<void>;
}

/**
 * Spawns `node [nodeArgs] <bin> start [args]` in `cwd` (default: a fresh temporary directory);
 * `node` defaults to this Node, `bin` to this checkout's `wadi` (another checkout's is a baseline
 * in the same run), `nodeArgs` go to node itself (e.g. --cpu-prof).
 */
export function startWadi(
  extra: Record<string, string>,
  opts: { cwd?: string; args?: string[]; nodeArgs?: string[]; bin?: string; node?: string } = {},
): StartedWadi {
  const cwd = opts.cwd ?? mkdtempSync(path.join(tmpdir(), 'wadi-bench-'));
  const child = spawn(
    opts.node ?? process.execPath,
    [...(opts.nodeArgs ?? []), opts.bin ?? BIN, 'start', ...(opts.args ?? [])],
    {
      cwd,
      env: benchEnv(extra),
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  const t0 = performance.now();
  const exited = new Promise<number | null>((r) => child.on('exit', r));
  return {
    child,
    pid: child.pid as number,
    t0,
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** RSS and its parts from /proc (MB). */
export function memory(pid: number): { rss: number; anon: number; file: number } {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+) kB`).exec(s)?.[1] ?? 0) / 1024;
  return { rss: kb('VmRSS'), anon: kb('RssAnon'), file: kb('RssFile') };
}

/** RSS (MB). */
export function rssMb(pid: number): number {
  return memory(pid).rss;
}

/** User + system CPU seconds the process has used. */
export function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

/** Samples the process's memory every 250 ms; the returned function stops and answers the peak and the first sample (MB). */
export function sampleMemory(pid: number): () => { rssMb: number; anonMb: number; fileMb: number; startRssMb: number } {
  let peak = { rss: 0, anon: 0, file: 0 };
  let first: number | undefined;
  const take = () => {
    try {
      const m = memory(pid);
      first ??= m.rss;
      if (m.rss > peak.rss) peak = m;
    } catch {
      // the process is gone
    }
  };
  take();
  const t = setInterval(take, 250);
  return () => {
    clearInterval(t);
    return {
      rssMb: Math.round(peak.rss),
      anonMb: Math.round(peak.anon),
      fileMb: Math.round(peak.file),
      startRssMb: Math.round(first ?? 0),
    };
  };
}

/** Runs `wadi load <scenario> --url <url> --json … --drain <drain> [args]`; answers its exit code and JSON report. */
export async function wadiLoad(
  scenario: string,
  url: string,
  opts: { duration?: string; drain?: number; args?: string[] } = {},
): Promise<{ exitCode: number | null; report: Record<string, unknown> & { [k: string]: unknown } }> {
  const cwd = mkdtempSync(path.join(tmpdir(), 'wadi-bench-load-'));
  const out = path.join(cwd, `${scenario}.json`);
  const args = [BIN, 'load', scenario, '--url', url, '--json', out, '--drain', String(opts.drain ?? 60)];
  if (opts.duration) args.push('--duration', opts.duration);
  args.push(...(opts.args ?? []));
  const code = await new Promise<number | null>((resolve) => {
    const c = spawn(process.execPath, args, { cwd, env: benchEnv({}), stdio: ['ignore', 'inherit', 'inherit'] });
    c.on('exit', resolve);
  });
  return { exitCode: code, report: JSON.parse(readFileSync(out, 'utf8')) };
}

/**
 * Samples the V8 heap (used, total) and external memory from `url`/metrics every 2 s; the
 * returned function stops and answers the maxima (MB; null when /metrics never answered).
 */
export function sampleHeap(
  url: string,
): () => { heapUsedMaxMb: number | null; heapTotalMaxMb: number | null; externalMaxMb: number | null } {
  const max = { used: 0, total: 0, external: 0 };
  let seen = false;
  const take = async () => {
    try {
      const text = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(2000) })).text();
      const v = (name: string) =>
        text
          .split('\n')
          .filter((l) => l.startsWith(name))
          .reduce((s, l) => s + Number(l.split(' ').at(-1)), 0);
      const used = v('nodejs_heap_size_used_bytes');
      if (used > 0) seen = true;
      max.used = Math.max(max.used, used);
      max.total = Math.max(max.total, v('nodejs_heap_size_total_bytes'));
      max.external = Math.max(max.external, v('nodejs_external_memory_bytes'));
    } catch {
      // a busy moment: the next sample
    }
  };
  const t = setInterval(() => void take(), 2000);
  const mb = (b: number) => (seen ? Math.round(b / 1024 / 1024) : null);
  return () => {
    clearInterval(t);
    return { heapUsedMaxMb: mb(max.used), heapTotalMaxMb: mb(max.total), externalMaxMb: mb(max.external) };
  };
}
