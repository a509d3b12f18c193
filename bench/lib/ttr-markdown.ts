/**
 * bench/results/time-to-reply.md from time-to-reply.json (the parts may come from separate runs:
 * each says when it ran and the load average around it).
 *
 *   node --import tsx bench/lib/ttr-markdown.ts   (rewrites the .md from the committed .json)
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

// biome-ignore lint/suspicious/noExplicitAny: the results file is read as it was written, untyped
type J = Record<string, any>;

const DEBOUNCE_MS = 800;
const LLM_P95_MS = 6000;

const s = (ms: number | null | undefined) => (ms === null || ms === undefined ? '–' : `${(ms / 1000).toFixed(1)} s`);

/** The markdown report of `r` (the parsed time-to-reply.json). */
/** The stress report's table: one row per stage. */
function stressStages(rep: J): string[] {
  return [
    '| users | RPS | HTTP p95 ms | errors | TTR p95 |',
    '|---:|---:|---:|---:|---:|',
    ...(rep.stages as J[]).map(
      (st, i) => `| ${st.target} | ${st.rps} | ${st.p95Ms} | ${st.errors} | ${s(rep.stageTimeToReplyP95Ms?.[i])} |`,
    ),
  ];
}

export function ttrMarkdown(r: J): string {
  const at = (p: string) => r.partStarted?.[p] ?? '(earlier run)';
  const lines = [
    '# Time-to-reply under a realistic LLM (bench/time-to-reply.ts)',
    '',
    `Node ${r.node} · ${r.cpus} vCPUs · one \`wadi start\` (role all, sandbox, PostgreSQL, \`WADI_SANDBOX_LLM=true\`) per part,`,
    `fake LLM log-normal, median ${r.llm.median_ms / 1000} s, p95 ${r.llm.p95_ms / 1000} s. Raw figures: \`time-to-reply.json\`.`,
    'Each part ran in its own hold of the machine lock (no other tests meanwhile); its load average is given.',
    '',
  ];
  if (r.load) {
    const l = r.load;
    const rep = l.report;
    const t = rep.timeToReply?.all ?? {};
    const budget = DEBOUNCE_MS + LLM_P95_MS + 1000;
    lines.push(
      `## Load scenario (50 users), started ${at('load')}`,
      '',
      `| figure | value |`,
      '|---|---:|',
      `| requests, RPS | ${rep.overall.requests}, ${rep.overall.rps} |`,
      `| HTTP p50 / p95 / p99 | ${rep.overall.p50Ms} / ${rep.overall.p95Ms} / ${rep.overall.p99Ms} ms |`,
      `| errors | ${rep.overall.errors} (${(rep.overall.errorRate * 100).toFixed(2)} %) |`,
      `| messages answered / accepted | ${t.answered} / ${t.messages} |`,
      `| time-to-reply p50 / p95 / max | ${s(t.p50Ms)} / **${s(t.p95Ms)}** / ${s(t.maxMs)} |`,
      `| target: TTR p95 ≤ debounce + LLM p95 + 1 s | ${s(budget)}: **${t.p95Ms !== undefined && t.p95Ms <= budget ? 'met' : 'not met'}** |`,
      `| pending at the end / after drain | ${rep.server?.pendingAtEnd ?? '–'} / ${rep.server?.pendingAfterDrain ?? '–'} |`,
      `| peak RSS (anonymous, file-backed) | **${l.peakMemory.rssMb} MB** (${l.peakMemory.anonMb}, ${l.peakMemory.fileMb}) |`,
      `| V8 heap used / total max, external max | ${l.heap?.heapUsedMaxMb ?? '–'} / ${l.heap?.heapTotalMaxMb ?? '–'} MB, ${l.heap?.externalMaxMb ?? '–'} MB |`,
      `| WADI CPU, % of one core | ${l.serverCpuPercentOfOneCore} |`,
      `| load average at start → end | ${l.loadAverage1mAtStart} → ${l.loadAverage1mAtEnd} |`,
      '',
    );
    if (l.stages) {
      lines.push('Where the time went (p50 / p95 per stage of each answered message):', '');
      for (const [k, v] of Object.entries(l.stages as J))
        lines.push(`- ${k}: ${v.p50Ms ?? '–'} / ${v.p95Ms ?? '–'} ms`);
      lines.push('');
    }
  }
  if (r.burst) {
    const b = r.burst;
    const cols = (['default', 'bounded8', 'baseline', 'profile'] as const).filter((k) => b[k]);
    const head: Record<string, string> = {
      default: 'default `LLM_MAX_CONCURRENCY`',
      bounded8: '`LLM_MAX_CONCURRENCY=8`',
      baseline: `baseline ${b.baseline?.commit ?? ''}`,
      profile: 'default, under `--cpu-prof`',
    };
    const cell = (f: (x: J) => string) => cols.map((k) => f(b[k])).join(' | ');
    const st = (x: J, k: string) => (x.stages?.[k] ? `${x.stages[k].p50Ms} / ${x.stages[k].p95Ms}` : '–');
    lines.push(
      `## 200 simultaneous users, one message each, started ${at('burst')}`,
      '',
      `Runs: ${cols.map((k) => `${k} ${b.runStarted?.[k] ?? ''}`).join(', ')} (each its own \`wadi start\`; back to back).`,
      '',
      `| | ${cols.map((k) => head[k]).join(' | ')} |`,
      `|---|${cols.map(() => '--:').join('|')}|`,
      `| accepted / answered | ${cell((x) => `${x.accepted} / ${x.answered}`)} |`,
      `| time-to-reply p50 / p95 / max | ${cell((x) => `${s(x.ttrP50Ms)} / ${s(x.ttrP95Ms)} / **${s(x.ttrMaxMs)}**`)} |`,
      `| fake LLM draws p50 / max | ${cell((x) => `${s(x.llmDrawP50Ms)} / ${s(x.llmDrawMaxMs)}`)} |`,
      `| WADI's share (TTR − own draw) p50 / p95 / max | ${cell((x) => (x.wadiShareP50Ms === undefined ? '–' : `${x.wadiShareP50Ms} / ${x.wadiShareP95Ms} / ${x.wadiShareMaxMs} ms`))} |`,
      `| received → claimed p50 / p95 ms | ${cell((x) => st(x, 'receivedToClaimed'))} |`,
      `| claimed → LLM start p50 / p95 ms | ${cell((x) => st(x, 'claimedToLlmStart'))} |`,
      `| LLM call p50 / p95 ms | ${cell((x) => st(x, 'llm'))} |`,
      `| LLM end → committed p50 / p95 ms | ${cell((x) => st(x, 'llmEndToCommitted'))} |`,
      `| committed → sent p50 / p95 ms | ${cell((x) => st(x, 'committedToSent'))} |`,
      `| target: all answered within debounce + LLM max + 2 s | ${cell((x) => `${s(x.budgetMs)}: **${x.withinBudget ? 'met' : 'not met'}**`)} |`,
      `| load average at start → end | ${cell((x) => `${x.loadAverage1mAtStart} → ${x.loadAverage1mAtEnd}`)} |`,
      '',
    );
    const prof = b.profile?.profile;
    if (prof) {
      lines.push(
        `CPU profile of the profiled run's \`wadi start\` (role all: webhooks, worker, dispatcher and the sandbox fakes in one process) during the burst: ${prof.totalMs} ms sampled, ${prof.busyMs ?? '–'} ms busy; self time by area (% of the busy time):`,
        '',
        '| area | self ms | % of busy |',
        '|---|--:|--:|',
        ...(prof.areas as J[]).slice(0, 14).map((a) => `| ${a.area} | ${a.selfMs} | ${a.percentOfBusy ?? a.percent} |`),
        '',
        ...(prof.writevCallers
          ? [
              `writev (${prof.writevCallers.totalMs} ms) was called from:`,
              '',
              ...(prof.writevCallers.callers as J[]).map((c) => `- ${c.selfMs} ms: ${c.stack}`),
              '',
            ]
          : []),
      );
    }
  }
  if (r.stress) {
    const rep = r.stress.report;
    lines.push(
      `## Stress scenario (scaled), started ${at('stress')}`,
      '',
      ...stressStages(rep),
      '',
      `Breaking point (highest user count within p95 < ${rep.thresholds.p95Ms} ms, errors < 1 %, TTR p95 ≤ ${s(rep.thresholds.timeToReplyP95Ms)}): **${rep.breakingPoint ?? 'none'}** (target ≥ 400). Peak RSS ${r.stress.peakMemory.rssMb} MB; load average ${r.stress.loadAverage1mAtStart} → ${r.stress.loadAverage1mAtEnd}.`,
      '',
    );
  }
  if (r.stressBaseline) {
    const rep = r.stressBaseline.report;
    lines.push(
      `### The same stress scenario against the baseline ${r.stressBaseline.commit}, started ${at('stress-baseline')}`,
      '',
      ...stressStages(rep),
      '',
      `Breaking point: **${rep.breakingPoint ?? 'none'}**. Peak RSS ${r.stressBaseline.peakMemory.rssMb} MB; load average ${r.stressBaseline.loadAverage1mAtStart} → ${r.stressBaseline.loadAverage1mAtEnd}.`,
      '',
    );
  }
  return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const dir = path.resolve(import.meta.dirname, '../results');
  const r = JSON.parse(readFileSync(path.join(dir, 'time-to-reply.json'), 'utf8')) as J;
  writeFileSync(path.join(dir, 'time-to-reply.md'), ttrMarkdown(r));
}
