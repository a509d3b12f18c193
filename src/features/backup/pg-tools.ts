/**
 * Running the PostgreSQL client tools (pg_dump, pg_restore, psql) as child processes: finding them,
 * checking their version against the server, and connecting without the password ever appearing
 * on a command line (visible in `ps`) or in an error message.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { BackupError, ToolMissingError, ToolVersionError } from './errors.ts';

/** The client tools WADI uses. */
export type PgTool = 'pg_dump' | 'pg_restore' | 'psql';

/** Where the tools are: a directory, or PATH when undefined. */
export interface ToolOptions {
  readonly binDir?: string;
}

/** The command to run for `tool`. */
export function toolCommand(tool: PgTool, opts: ToolOptions): string {
  return opts.binDir ? path.join(opts.binDir, tool) : tool;
}

/** Major version from `pg_dump --version` output such as `pg_dump (PostgreSQL) 15.20 (Debian …)`. */
export function parseToolMajor(output: string): number | undefined {
  const m = /\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?/.exec(output) ?? /(\d+)\.\d+/.exec(output);
  return m ? Number(m[1]) : undefined;
}

/** Major version from `server_version_num` (150020 → 15; 90624 → 9). */
export function serverMajor(versionNum: number): number {
  return Math.floor(versionNum / 10000);
}

/** The tool's version line and major; ToolMissingError when it is not installed. */
export async function toolVersion(tool: PgTool, opts: ToolOptions): Promise<{ version: string; major: number }> {
  const out = await runTool(tool, ['--version'], opts, {});
  const version = out.stdout.trim();
  const major = parseToolMajor(version);
  if (major === undefined)
    throw new BackupError('tool_version_unknown', `cannot read the version of ${tool}: "${version}"`);
  return { version, major };
}

/** Throws ToolVersionError when `tool` is older than the server (it would refuse or lose data). */
export async function requireToolFor(tool: PgTool, serverVersionNum: number, opts: ToolOptions): Promise<string> {
  const { version, major } = await toolVersion(tool, opts);
  const server = serverMajor(serverVersionNum);
  if (major < server) throw new ToolVersionError(tool, major, server);
  return version;
}

/** libpq connection settings for `url`: the URL without its password, and the password apart. */
export function libpqConnection(url: string): { dbname: string; password?: string; database: string } {
  const u = new URL(url);
  const password = u.password ? decodeURIComponent(u.password) : undefined;
  u.password = '';
  // node-postgres accepts settings libpq rejects ("invalid URI query parameter"); translate them.
  if (u.searchParams.get('ssl') === 'true') u.searchParams.set('sslmode', 'require');
  u.searchParams.delete('ssl');
  if (u.searchParams.get('sslmode') === 'no-verify') u.searchParams.set('sslmode', 'require');
  return { dbname: u.toString(), password, database: decodeURIComponent(u.pathname.slice(1)) };
}

/** What to wire to the child. */
export interface RunOptions {
  readonly password?: string;
  readonly stdin?: Readable;
  /** Receives stdout instead of buffering it; not ended by the tool (the caller decides). */
  readonly stdout?: Writable;
  /** Kills the tool (e.g. psql must not commit a restore whose input failed). */
  readonly signal?: AbortSignal;
  /** Called every `tickMs` while the tool runs (progress). */
  readonly onTick?: (elapsedMs: number) => void;
  readonly tickMs?: number;
  /** Lines of stderr, as they come (pg_restore --verbose progress). */
  readonly onStderrLine?: (line: string) => void;
}

/** Runs `tool args`, resolving with its output; rejects with a BackupError naming the exit code. */
export function runTool(
  tool: PgTool,
  args: string[],
  opts: ToolOptions,
  run: RunOptions,
): Promise<{ stdout: string; stderr: string }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    // The child needs PATH, HOME, locale…; the password travels in its environment only.
    const env = { ...process.env, ...(run.password ? { PGPASSWORD: run.password } : {}) };
    const child = spawn(toolCommand(tool, opts), args, {
      env,
      stdio: [run.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
      signal: run.signal,
    });
    let stdout = '';
    let stderr = '';
    let pending = '';
    const timer = run.onTick
      ? setInterval(() => run.onTick?.(performance.now() - started), run.tickMs ?? 1000)
      : undefined;
    if (run.stdout) child.stdout?.pipe(run.stdout, { end: false });
    else
      child.stdout?.on('data', (d: Buffer) => {
        stdout += d.toString();
      });
    child.stderr?.on('data', (d: Buffer) => {
      const text = d.toString();
      if (stderr.length < 64_000) stderr += text;
      if (run.onStderrLine) {
        pending += text;
        const lines = pending.split('\n');
        pending = lines.pop() ?? '';
        for (const l of lines) run.onStderrLine(l);
      }
    });
    if (run.stdin && child.stdin) {
      run.stdin.pipe(child.stdin);
      // psql closing early (ON_ERROR_STOP) must surface as its exit code, not an EPIPE crash.
      child.stdin.on('error', () => {});
    }
    child.on('error', (err: NodeJS.ErrnoException) => {
      if (timer) clearInterval(timer);
      reject(
        err.code === 'ENOENT' ? new ToolMissingError(tool) : new BackupError('tool_failed', `${tool}: ${err.message}`),
      );
    });
    child.on('close', (code, signal) => {
      if (timer) clearInterval(timer);
      if (code === 0) {
        resolve({ stdout, stderr });
        return;
      }
      const detail = scrub(stderr, run.password)
        .split('\n')
        .filter((l) => l.trim() && !/^pg_restore: (processing|creating|executing|connecting|launching)/.test(l))
        .slice(-6)
        .join('\n');
      reject(
        new BackupError(
          'tool_failed',
          `${tool} failed (${signal ? `signal ${signal}` : `exit ${code}`})${detail ? `:\n${detail}` : ''}`,
        ),
      );
    });
  });
}

/** Removes the password from text a tool printed, in case it echoed a connection string. */
export function scrub(text: string, password?: string): string {
  let out = text.replace(/(postgres(?:ql)?:\/\/[^:/@\s]+:)[^@\s]+@/g, '$1***@');
  if (password && password.length >= 3) out = out.split(password).join('***');
  return out;
}
