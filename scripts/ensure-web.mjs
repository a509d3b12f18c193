#!/usr/bin/env node
// Builds the admin dashboard (web/ → web/dist) when it is missing or older than its sources, so
// `npm start` and `npm test` never serve a stale or absent dashboard. `--force` always builds.
// Exits 0 without building when Vite is not installed (production installs omit dev tools; build
// the dashboard in the image instead with `npm run build:web`).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const web = path.join(root, 'web');
const built = path.join(web, 'dist', 'index.html');

/** Newest modification time under `p` (files and folders), in ms. */
function newest(p) {
  const st = statSync(p);
  if (!st.isDirectory()) return st.mtimeMs;
  let max = st.mtimeMs;
  for (const e of readdirSync(p)) max = Math.max(max, newest(path.join(p, e)));
  return max;
}

export function isStale() {
  if (!existsSync(built)) return true;
  const sources = Math.max(
    newest(path.join(web, 'src')),
    newest(path.join(web, 'index.html')),
    newest(path.join(web, 'vite.config.ts')),
  );
  return sources > statSync(built).mtimeMs;
}

/** Builds when stale (or forced); returns true when the dashboard is present afterwards. */
export function ensureWeb({ force = false, quiet = false } = {}) {
  if (!force && !isStale()) return true;
  const vite = path.join(root, 'node_modules', 'vite', 'bin', 'vite.js');
  if (!existsSync(vite)) {
    if (!quiet) console.warn('wadi: Vite is not installed, so the admin dashboard cannot be built here.');
    return existsSync(built);
  }
  if (!quiet) console.log('wadi: building the admin dashboard (web/ → web/dist)…');
  const r = spawnSync(process.execPath, [vite, 'build', '--config', path.join(web, 'vite.config.ts')], {
    cwd: root,
    stdio: quiet ? 'pipe' : 'inherit',
  });
  if (r.status !== 0) {
    if (quiet) process.stderr.write(r.stderr ?? '');
    throw new Error(`dashboard build failed (exit ${r.status})`);
  }
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
