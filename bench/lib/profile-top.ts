/**
 * Top entries of a V8 CPU profile (`node --cpu-prof`): self time per function (name, file:line),
 * optionally only for samples after `skipMs` from the start (to leave start-up out).
 *
 *   node --import tsx bench/lib/profile-top.ts <file.cpuprofile> [top=25] [skipMs=0] [untilMs=end]
 */
import { readFileSync } from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface TopEntry {
  readonly name: string;
  readonly where: string;
  readonly selfMs: number;
  readonly percent: number;
}

/** Each sample of `p` between `skipMs` and `untilMs` from the profile's start, with its duration (µs). */
function eachSample(p: Profile, skipMs: number, untilMs: number, fn: (nodeId: number, dtUs: number) => void): void {
  let t = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const dt = p.timeDeltas[i] ?? 0;
    t += dt;
    if (t / 1000 < skipMs || t / 1000 > untilMs) continue;
    fn(p.samples[i], dt);
  }
}

/** Self time by function over the profile's samples between `skipMs` and `untilMs` from its start. */
export function profileTop(
  file: string,
  top = 25,
  skipMs = 0,
  untilMs = Number.POSITIVE_INFINITY,
): { totalMs: number; entries: TopEntry[] } {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<string, { name: string; where: string; us: number }>();
  let total = 0;
  eachSample(p, skipMs, untilMs, (id, dt) => {
    const n = byId.get(id);
    if (!n) return;
    const f = n.callFrame;
    const where = f.url ? `${f.url.replace(/^file:\/\/.*?\/(node_modules|src)\//, '$1/')}:${f.lineNumber + 1}` : '';
    const key = `${f.functionName}|${where}`;
    const e = self.get(key) ?? { name: f.functionName || '(anonymous)', where, us: 0 };
    e.us += dt;
    self.set(key, e);
    total += dt;
  });
  const entries = [...self.values()]
    .sort((a, b) => b.us - a.us)
    .slice(0, top)
    .map((e) => ({
      name: e.name,
      where: e.where,
      selfMs: Math.round(e.us / 100) / 10,
      percent: Math.round((e.us / Math.max(1, total)) * 1000) / 10,
    }));
  return { totalMs: Math.round(total / 1000), entries };
}

/**
 * Where the self time of the function `name` (e.g. writev) was spent from: its samples between
 * `skipMs` and `untilMs` grouped by the nearest calling frames in src/ or node_modules (up to 3).
 */
export function selfTimeByCaller(
  file: string,
  name: string,
  skipMs = 0,
  untilMs = Number.POSITIVE_INFINITY,
  top = 8,
): { totalMs: number; callers: { stack: string; selfMs: number }[] } {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const by = new Map<string, number>();
  let total = 0;
  eachSample(p, skipMs, untilMs, (id, dt) => {
    if (byId.get(id)?.callFrame.functionName !== name) return;
    total += dt;
    const chain: string[] = [];
    for (let x = parent.get(id); x !== undefined && chain.length < 3; x = parent.get(x)) {
      const f = byId.get(x)?.callFrame;
      const m = f ? /(node_modules\/.*|src\/.*)$/.exec(f.url) : null;
      if (f && m) chain.push(`${f.functionName || '(anonymous)'} ${m[1]}:${f.lineNumber + 1}`);
    }
    const k = chain.join(' < ') || '(no JavaScript caller)';
    by.set(k, (by.get(k) ?? 0) + dt);
  });
  const callers = [...by.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([stack, us]) => ({ stack, selfMs: Math.round(us / 100) / 10 }));
  return { totalMs: Math.round(total / 1000), callers };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [file, top, skip, until] = process.argv.slice(2);
  const r = profileTop(file, Number(top ?? 25), Number(skip ?? 0), until ? Number(until) : undefined);
  console.log(`total sampled: ${r.totalMs} ms`);
  for (const e of r.entries)
    console.log(`${String(e.percent).padStart(5)} %  ${String(e.selfMs).padStart(8)} ms  ${e.name}  ${e.where}`);
}
