#!/usr/bin/env node
/**
 * Top-level folder cycles (src/<folder>, subfolders included), from dependency-cruiser's JSON on
 * stdin: its folder-scope rule compares exact folders, so a loop such as observability/metrics →
 * http → observability/health would pass it. Exits 1 and names each two-way pair found.
 * Usage: depcruise src --config .dependency-cruiser.cjs --output-type json | node scripts/top-level-cycles.mjs
 */
let input = '';
for await (const chunk of process.stdin) input += chunk;
const result = JSON.parse(input);
const top = (p) => p.replace(/^src\//, '').split('/')[0];
const edges = new Map();
for (const m of result.modules) {
  if (!m.source.startsWith('src/')) continue;
  for (const d of m.dependencies) {
    if (!d.resolved.startsWith('src/')) continue;
    const [a, b] = [top(m.source), top(d.resolved)];
    if (a === b) continue;
    if (!edges.has(a)) edges.set(a, new Map());
    if (!edges.get(a).has(b)) edges.get(a).set(b, `${m.source} → ${d.resolved}`);
  }
}
const reaches = (from, to, seen = new Set()) => {
  for (const n of edges.get(from)?.keys() ?? []) {
    if (n === to) return true;
    if (seen.has(n)) continue;
    seen.add(n);
    if (reaches(n, to, seen)) return true;
  }
  return false;
};
let bad = 0;
for (const [a, targets] of edges)
  for (const [b, example] of targets)
    if (reaches(b, a)) {
      console.error(`folder cycle: src/${a} → src/${b} (e.g. ${example}) and back`);
      bad++;
    }
if (bad > 0) process.exit(1);
console.log(`no cycle between the ${edges.size} top-level folders of src/`);
