/**
 * Reading deploy/Dockerfile without a container engine: its stages and instructions, and a replay of
 * the stages the runtime stage copies from, into folders on this machine (see image-replay.test.ts).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '../..');

/** One build stage: its base image, name and instructions (keyword upper-cased, arguments). */
export interface Stage {
  readonly from: string;
  readonly name?: string;
  readonly instructions: [string, string][];
}

/** Dockerfile instructions (continuations joined, comments dropped), grouped by stage. */
export function dockerStages(text: string): Stage[] {
  const joined = text.replace(/\\\n/g, ' ');
  const stages: { from: string; name?: string; instructions: [string, string][] }[] = [];
  const args = new Map<string, string>();
  for (const raw of joined.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const [, op = '', rest = ''] = /^(\w+)\s+(.*)$/.exec(line) ?? [];
    const keyword = op.toUpperCase();
    if (keyword === 'ARG' && stages.length === 0) {
      const [k, v] = rest.split('=');
      if (k && v) args.set(k, v);
      continue;
    }
    if (keyword === 'FROM') {
      const [image = '', , name] = rest.split(/\s+/);
      const from = image.replace(/\$\{(\w+)\}/g, (_, k: string) => args.get(k) ?? '');
      stages.push({ from, name, instructions: [] });
      continue;
    }
    stages.at(-1)?.instructions.push([keyword, rest]);
  }
  return stages;
}

/** The variables a stage's ENV lines set (`ENV A=1 B=2` and `ENV A 1`). */
export function stageEnv(stage: Stage): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, rest] of stage.instructions) {
    if (k !== 'ENV') continue;
    if (!rest.includes('=')) {
      const [name = '', ...value] = rest.split(/\s+/);
      env[name] = value.join(' ');
      continue;
    }
    for (const m of rest.matchAll(/(\w+)=("([^"]*)"|\S*)/g)) env[m[1] as string] = m[3] ?? (m[2] as string);
  }
  return env;
}

/** A COPY line: flags, sources and destination. */
export function parseCopy(rest: string): { from?: string; sources: string[]; dest: string } {
  const tokens = rest.startsWith('[') ? (JSON.parse(rest) as string[]) : rest.split(/\s+/);
  const flags = tokens.filter((t) => t.startsWith('--'));
  const paths = tokens.filter((t) => !t.startsWith('--'));
  const from = flags.find((f) => f.startsWith('--from='))?.slice('--from='.length);
  return { from, sources: paths.slice(0, -1), dest: paths.at(-1) ?? '' };
}

/** .dockerignore as a predicate on context-relative paths (a path is out when it or a parent matches). */
export function dockerIgnore(root = ROOT): (rel: string) => boolean {
  const file = path.join(root, '.dockerignore');
  const patterns = existsSync(file)
    ? readFileSync(file, 'utf8')
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l && !l.startsWith('#'))
    : [];
  const regexes = patterns.map(
    (p) =>
      new RegExp(
        `^${p
          .replace(/\/+$/, '')
          .replace(/[.+^${}()|[\]\\]/g, '\\$&')
          .replace(/\*\*/g, '\u0000')
          .replace(/\*/g, '[^/]*')
          .replace(/\?/g, '[^/]')
          .replace(/\u0000/g, '.*')}$`,
      ),
  );
  return (rel) => {
    const parts = rel.split('/');
    for (let i = 1; i <= parts.length; i++) {
      const prefix = parts.slice(0, i).join('/');
      if (regexes.some((r) => r.test(prefix))) return true;
    }
    return false;
  };
}

/** How the replay runs one RUN line; return null to skip it (with the reason in `skipped`). */
export interface ReplayOptions {
  /** Folder the whole replay lives in. */
  readonly dir: string;
  /** Environment for RUN lines (PATH with Node 24 first). */
  readonly env: NodeJS.ProcessEnv;
  /** Absolute paths of the image outside WORKDIR (e.g. /var/lib/wadi) are moved under this folder. */
  readonly rootfs: string;
  /**
   * Layer cache, as Docker keeps one: a stage whose inputs are named files (no `COPY . .`, no
   * `--from`) is kept here under the hash of its instructions and those files' contents, and a
   * later COPY --from it links its folders instead of copying them.
   */
  readonly cacheDir?: string;
}

/** What the replay did instead of a RUN line, for the report. */
export interface ReplayLog {
  readonly substituted: string[];
  readonly skipped: string[];
}

/** Maps an absolute image path into the replay's root filesystem folder. */
export function inRootfs(rootfs: string, p: string): string {
  return path.join(rootfs, p);
}

/**
 * Replays `target` and the stages it copies from. Each stage's WORKDIR is a folder under `dir`;
 * COPY is copied (from the context minus .dockerignore, or from another stage's folder); RUN lines
 * run with bash in that folder, except:
 * - a full `npm ci` with dev dependencies (the build stage) links this checkout's node_modules,
 *   installed from the same lockfile, instead of installing it again;
 * - `npm cache clean` is dropped (it would empty this machine's shared npm cache);
 * - `apt-get` lines are skipped: system packages (the PostgreSQL client for `wadi backup`) are not
 *   what the replay checks;
 * - absolute paths and the `node` user are mapped to the replay's rootfs folder and uid 1000.
 * Returns the runtime stage's WORKDIR folder.
 */
export function replayStage(stages: Stage[], target: Stage, opts: ReplayOptions, log: ReplayLog): string {
  const done = new Map<Stage, string>();
  const ignored = dockerIgnore();
  const cached = new Set<Stage>();
  const cacheKey = (stage: Stage): string | undefined => {
    if (!opts.cacheDir || stage === target) return undefined;
    const h = createHash('sha256').update(stage.from);
    for (const [k, rest] of stage.instructions) {
      h.update(`${k} ${rest}\n`);
      if (k !== 'COPY') continue;
      const c = parseCopy(rest);
      if (c.from || c.sources.some((src) => src === '.' || !statSync(path.join(ROOT, src)).isFile())) return undefined;
      for (const src of c.sources) h.update(readFileSync(path.join(ROOT, src)));
    }
    return h.digest('hex').slice(0, 24);
  };
  const run = (stage: Stage): string => {
    const existing = done.get(stage);
    if (existing) return existing;
    const name = stage.name ?? `stage${stages.indexOf(stage)}`;
    const key = cacheKey(stage);
    if (key && opts.cacheDir) {
      const layer = path.join(opts.cacheDir, `${name}-${key}`);
      if (existsSync(path.join(layer, 'complete'))) {
        log.substituted.push(`${name}: reused from the layer cache (${layer})`);
        cached.add(stage);
        done.set(stage, path.join(layer, 'app'));
        return path.join(layer, 'app');
      }
    }
    const stageRoot =
      key && opts.cacheDir
        ? path.join(opts.cacheDir, `${name}-${key}.tmp-${process.pid}`)
        : path.join(opts.dir, 'stages', name);
    let workdir = path.join(stageRoot, 'app');
    mkdirSync(workdir, { recursive: true });
    const resolveIn = (base: string, p: string) =>
      path.isAbsolute(p) ? path.join(stageRoot, p) : path.join(base, p.replace(/^\.\/?/, ''));
    for (const [k, rest] of stage.instructions) {
      if (k === 'WORKDIR') {
        workdir = path.join(stageRoot, rest);
        mkdirSync(workdir, { recursive: true });
      } else if (k === 'COPY') {
        const c = parseCopy(rest);
        const source = c.from ? stages.find((s) => s.name === c.from) : undefined;
        if (c.from && !source) throw new Error(`COPY --from=${c.from}: no such stage`);
        const fromRoot = source ? path.dirname(run(source)) : ROOT;
        for (const src of c.sources) {
          const from = source ? path.join(fromRoot, src) : path.join(ROOT, src);
          if (!existsSync(from)) throw new Error(`COPY ${rest}: ${src} does not exist in ${c.from ?? 'the context'}`);
          const toDir = c.dest.endsWith('/') || c.sources.length > 1 || src === '.';
          const dest = resolveIn(workdir, c.dest);
          const target = toDir && !statSync(from).isDirectory() ? path.join(dest, path.basename(src)) : dest;
          mkdirSync(path.dirname(target), { recursive: true });
          if (source && cached.has(source) && statSync(from).isDirectory()) {
            symlinkSync(from, target);
            continue;
          }
          cpSync(from, target, {
            recursive: true,
            dereference: true,
            filter: (p) => {
              if (source) return true;
              const rel = path.relative(ROOT, p);
              return rel === '' || !ignored(rel.split(path.sep).join('/'));
            },
          });
        }
      } else if (k === 'RUN') {
        const cmd = rest.startsWith('[') ? (JSON.parse(rest) as string[]).join(' ') : rest;
        if (/\bapt-get\b/.test(cmd)) {
          log.skipped.push(`${name}: ${cmd}`);
          continue;
        }
        const parts = cmd.split(/\s*&&\s*/).filter((p) => {
          if (/^npm cache clean/.test(p)) {
            log.skipped.push(`${name}: ${p}`);
            return false;
          }
          return true;
        });
        const commands: string[] = [];
        for (const p of parts) {
          if (/^npm ci\b/.test(p) && !/--omit=dev/.test(p)) {
            symlinkSync(path.join(ROOT, 'node_modules'), path.join(workdir, 'node_modules'));
            log.substituted.push(`${name}: ${p} → this checkout's node_modules (same package-lock.json)`);
            continue;
          }
          commands.push(
            p
              .replace(/(^|\s)\/var\//g, `$1${inRootfs(opts.rootfs, '/var/')}`)
              .replace(/\bchown (-R )?node:node\b/, (_m, r: string | undefined) => `chown ${r ?? ''}1000:1000`)
              .replace(/^npm ci\b/, 'npm ci --no-audit --no-fund --prefer-offline'),
          );
        }
        if (commands.length > 0) {
          execFileSync('bash', ['-euo', 'pipefail', '-c', commands.join(' && ')], {
            cwd: workdir,
            env: opts.env,
            stdio: 'pipe',
            timeout: 600_000,
          });
        }
      }
    }
    if (key && opts.cacheDir) {
      const layer = path.join(opts.cacheDir, `${name}-${key}`);
      writeFileSync(path.join(stageRoot, 'complete'), '');
      try {
        renameSync(stageRoot, layer);
        // One layer per stage is kept: the older ones are for lockfiles that are gone.
        for (const e of readdirSync(opts.cacheDir)) {
          if (e.startsWith(`${name}-`) && e !== path.basename(layer) && !e.includes('.tmp-')) {
            rmSync(path.join(opts.cacheDir, e), { recursive: true, force: true });
          }
        }
      } catch {
        rmSync(stageRoot, { recursive: true, force: true });
      }
      cached.add(stage);
      done.set(stage, path.join(layer, 'app'));
      return path.join(layer, 'app');
    }
    done.set(stage, workdir);
    return workdir;
  };
  const app = run(target);
  // Files COPY'd into an image belong to root and are readable by all: the unprivileged user can
  // read the app but not write into it, as in the image.
  const open = (p: string) => {
    const st = lstatSync(p);
    if (st.isSymbolicLink()) return;
    chmodSync(p, st.isDirectory() ? 0o755 : st.mode & 0o111 ? 0o755 : 0o644);
    if (st.isDirectory()) for (const e of readdirSync(p)) open(path.join(p, e));
  };
  for (let p = app; p !== path.dirname(opts.dir); p = path.dirname(p)) chmodSync(p, 0o755);
  open(app);
  return app;
}

/** Every file under `dir`, relative, with `/` separators. */
export function listFiles(dir: string, base = dir): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...listFiles(p, base));
    else out.push(path.relative(base, p).split(path.sep).join('/'));
  }
  return out;
}
