/**
 * Does the Node version give freed V8 heap back to the OS? A plain child process (no WADI) grows
 * its heap with short-lived garbage for 3 s while keeping a small live set, then idles; its RSS and
 * V8 heap are read right after, and 1, 5, 15 and 30 s later after a forced GC each time. Run on
 * this Node (20 here) and on Node 24, with and without --max-semi-space-size=16: how soon each
 * gives the freed heap back (under steady load there is no idle pause, so the peak RSS of
 * bench/results/memory.md is how far the heap grew).
 *
 *   node --import tsx bench/heap-retention.ts   (NODE24=<path of a Node 24 binary>)
 *
 * Writes bench/results/heap-retention.json and .md.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from './lib/wadi.ts';

const NODE24 = process.env.NODE24 ?? '/root/.cache/wadi-ci/node24/bin/node';
const CHILD = `
const mb = (n) => Math.round(n / 1048576);
const keep = [];
const t0 = Date.now();
while (Date.now() - t0 < 3000) {
  const a = [];
  for (let i = 0; i < 10000; i++) a.push({ i, s: 'x' + i });
  if (keep.length < 200) keep.push(a);
}
const out = [{ at: 'after 3 s of garbage', rssMb: mb(process.memoryUsage().rss), heapTotalMb: mb(process.memoryUsage().heapTotal) }];
(async () => {
  for (const t of [1, 5, 15, 30]) {
    await new Promise((r) => setTimeout(r, 1000 * t));
    globalThis.gc();
    out.push({ at: '+' + t + ' s, after gc()', rssMb: mb(process.memoryUsage().rss), heapTotalMb: mb(process.memoryUsage().heapTotal) });
  }
  console.log(JSON.stringify(out));
})();
`;

const runs = [
  { node: process.execPath, flags: [] as string[] },
  { node: NODE24, flags: [] as string[] },
  { node: NODE24, flags: ['--max-semi-space-size=16'] },
].map(({ node, flags }) => {
  const version = execFileSync(node, ['--version'], { encoding: 'utf8' }).trim();
  const samples = JSON.parse(execFileSync(node, ['--expose-gc', ...flags, '-e', CHILD], { encoding: 'utf8' })) as {
    at: string;
    rssMb: number;
    heapTotalMb: number;
  }[];
  return { node: version, flags: flags.join(' '), samples };
});

writeFileSync(
  path.join(ROOT, 'bench/results/heap-retention.json'),
  `${JSON.stringify({ started: new Date().toISOString(), runs }, null, 2)}\n`,
);
const lines = [
  '# Freed V8 heap and RSS, per Node version',
  '',
  'script: `bench/heap-retention.ts` · a plain process (no WADI): 3 s of short-lived garbage with a small live set, then idle; RSS / V8 heap total (MB)',
  '',
  `| Node | ${runs[0].samples.map((s) => s.at).join(' | ')} |`,
  `|---|${runs[0].samples.map(() => '--:').join('|')}|`,
  ...runs.map(
    (r) =>
      `| ${r.node}${r.flags ? ` ${r.flags}` : ''} | ${r.samples.map((s) => `${s.rssMb} / ${s.heapTotalMb}`).join(' | ')} |`,
  ),
  '',
];
writeFileSync(path.join(ROOT, 'bench/results/heap-retention.md'), `${lines.join('\n')}\n`);
console.log(lines.join('\n'));
