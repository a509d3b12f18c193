#!/usr/bin/env node
// Builds the admin dashboard (web/ → web/dist) when it is missing or older than its sources, so
// `npm start`, `npx wadi start` and `npm test` never serve a stale or absent dashboard. `--force`
// always builds. Exits 0 without building when Vite is not installed (production installs omit dev
// tools: the image builds the dashboard in its build stage with `npm run build:web`).
//
// The build goes to a scratch folder that then replaces web/dist, so a server that is running
// (or a second replica building at the same time from the same checkout) never sees half a build.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const web = path.join(root, 'web');
const dist = path.join(web, 'dist');
const built = path.join(dist, 'index.html');
const vite = path.join(root, 'node_modules', 'vite', 'bin', 'vite.js');

/** Newest modification time under `p` (files and folders), in ms. */
function newest(p) {
  const st = statSync(p);
  if (!st.isDirectory()) return st.mtimeMs;
  let max = st.mtimeMs;
  for (const e of readdirSync(p)) max = Math.max(max, newest(path.join(p, e)));
  return max;
}

/**
 * True when web/dist is missing or older than web/src, web/index.html, web/vite.config.ts or
 * docs/operations.md (the Alerts page bundles its runbook sections).
 */
export function isStale() {
  if (!existsSync(built)) return true;
  const sources = Math.max(
    newest(path.join(web, 'src')),
    newest(path.join(web, 'index.html')),
    newest(path.join(web, 'vite.config.ts')),
    newest(path.join(root, 'docs', 'operations.md')),
  );
  return sources > statSync(built).mtimeMs;
}

/** True when the dashboard's build tool (a dev dependency) is installed. */
export function canBuild() {
  return existsSync(vite);
}

/** True when web/dist holds a built dashboard. */
export function isBuilt() {
  return existsSync(built);
}

/** Builds into a scratch folder and swaps it in for web/dist; throws with Vite's output on failure. */
function build(quiet) {
  const scratch = path.join(web, `.dist-${process.pid}-${Date.now()}`);
  const r = spawnSync(
    process.execPath,
    [vite, 'build', '--config', path.join(web, 'vite.config.ts'), '--outDir', scratch, '--emptyOutDir'],
    { cwd: root, stdio: quiet ? 'pipe' : 'inherit', encoding: 'utf8' },
  );
  if (r.status !== 0) {
    rmSync(scratch, { recursive: true, force: true });
    const output = `${r.stderr ?? ''}${r.stdout ?? ''}`.trim();
    throw new Error(`dashboard build failed (exit ${r.status})${quiet && output ? `:\n${output}` : ''}`);
  }
  const old = `${scratch}-old`;
  try {
    if (existsSync(dist)) renameSync(dist, old);
  } catch {
    // Another process swapped first; ours replaces its build below or is dropped.
  }
  try {
    renameSync(scratch, dist);
  } catch {
    // A concurrent build won the swap with the same sources: keep its web/dist.
    rmSync(scratch, { recursive: true, force: true });
  }
  rmSync(old, { recursive: true, force: true });
}

/** Builds when stale (or forced); returns true when the dashboard is present afterwards. */
export function ensureWeb({ force = false, quiet = false } = {}) {
  if (!force && !isStale()) return true;
  if (!canBuild()) {
    if (!quiet) console.warn('wadi: Vite is not installed, so the admin dashboard cannot be built here.');
    return isBuilt();
  }
  if (!quiet) console.log('wadi: building the admin dashboard (web/ → web/dist)…');
  build(quiet);
  return true;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    ensureWeb({ force: process.argv.includes('--force') });
  } catch (err) {
    console.error(`wadi: ${err.message}`);
    // The API keeps working without the dashboard; do not stop `npm start` for it.
    process.exit(process.argv.includes('--strict') ? 1 : 0);
  }
}
