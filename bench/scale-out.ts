/**
 * Scale-out (issue 20): one `wadi start --role web` (webhooks and the sandbox fakes) and 1, 2, 4
 * `wadi start --role worker` processes on one PostgreSQL, with the fake LLM answering log-normally
 * (1.5 s median, 6 s p95, as a hosted model). For each worker count, BENCH_USERS distinct WhatsApp
 * users each send one message at the same moment; every reply is timed from its webhook's 200 to
 * the fake Graph API accepting the send. Reported per worker count: messages answered per second
 * (answered ÷ time from the first accepted webhook to the last reply), time-to-reply p50/p95/max,
 * the CPU seconds of the web and of all worker processes, and the load average.
 *
 *   TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test node --import tsx bench/scale-out.ts
 *   (BENCH_WORKERS=1,2,4  BENCH_USERS=600)
 *
 * Writes bench/results/scale-out.json and .md.
 */
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import path from 'node:path';
import { freePort } from '../test/helpers/cli.ts';
import { createPostgresDatabase } from '../test/helpers/db.ts';
import { collectReplies, pct, sandboxSeq, sendBurst, timesToReply } from './lib/burst.ts';
import { cpuSeconds, ROOT, type StartedWadi, sampleMemory, startWadi, untilReady } from './lib/wadi.ts';

const WORKERS = (process.env.BENCH_WORKERS ?? '1,2,4').split(',').map(Number);
const USERS = Number(process.env.BENCH_USERS ?? 600);
const LLM = { mode: 'lognormal', median_ms: 1500, p95_ms: 6000 };

async function burst(url: string, users: number, tag: string) {
  const after = await sandboxSeq(url);
  const { accepted, redelivered } = await sendBurst(url, users, { prefix: '3480', tag: `scale.${tag}` });
  const replies = await collectReplies(url, after, accepted, 240_000);
  const ttr = timesToReply(accepted, replies);
  const first = Math.min(...accepted.values());
  const last = Math.max(...replies.values());
  const seconds = (last - first) / 1000;
  return {
    users,
    accepted: accepted.size,
    redeliveriesAfter503: redelivered,
    answered: replies.size,
    seconds: Math.round(seconds * 10) / 10,
    messagesPerSecond: Math.round((replies.size / Math.max(seconds, 0.001)) * 10) / 10,
    ttrP50Ms: pct(ttr, 50),
    ttrP95Ms: pct(ttr, 95),
    ttrMaxMs: ttr.length ? Math.max(...ttr) : null,
  };
}

async function run(workers: number) {
  const db = await createPostgresDatabase();
  const webPort = await freePort();
  const webUrl = `http://127.0.0.1:${webPort}`;
  const common = { DATABASE_URL: db.url, WADI_SANDBOX_LLM: 'true' };
  const web = startWadi({ ...common, PORT: String(webPort) }, { args: ['--role', 'web'] });
  const ws: StartedWadi[] = [];
  try {
    await untilReady(webUrl, 120_000, 100);
    for (let i = 0; i < workers; i++) {
      const port = await freePort();
      const w = startWadi({ ...common, PORT: String(port), WADI_SANDBOX_URL: webUrl }, { args: ['--role', 'worker'] });
      ws.push(w);
      await untilReady(`http://127.0.0.1:${port}`, 120_000, 100);
    }
    const put = await fetch(`${webUrl}/sandbox/llm/latency`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(LLM),
    });
    if (!put.ok) throw new Error(`latency: ${put.status} ${await put.text()}`);
    await new Promise((r) => setTimeout(r, 3000));
    const la = loadavg()[0];
    const web0 = cpuSeconds(web.pid);
    const w0 = ws.map((w) => cpuSeconds(w.pid));
    const webMem = sampleMemory(web.pid);
    const workerMem = ws.map((w) => sampleMemory(w.pid));
    const r = await burst(webUrl, USERS, `${workers}-${Date.now().toString(36)}`);
    return {
      workers,
      ...r,
      // The web process holds the sandbox fakes (and their call log); a worker is WADI's turn side alone.
      webPeakRssMb: webMem().rssMb,
      workerPeakRssMb: Math.max(...workerMem.map((m) => m().rssMb)),
      webCpuSeconds: Math.round((cpuSeconds(web.pid) - web0) * 100) / 100,
      workersCpuSeconds: Math.round(ws.reduce((n, w, i) => n + cpuSeconds(w.pid) - w0[i], 0) * 100) / 100,
      loadAverage1m: [Math.round(la * 100) / 100, Math.round(loadavg()[0] * 100) / 100],
    };
  } finally {
    for (const w of ws) await w.stop();
    await web.stop();
    await db.drop();
  }
}

const started = new Date().toISOString();
const rows = [];
for (const n of WORKERS) {
  console.error(`${n} worker process(es), ${USERS} users at once…`);
  const r = await run(n);
  console.error(JSON.stringify(r));
  rows.push(r);
}
const out = { started, node: process.version, cpus: cpus().length, llm: LLM, users: USERS, rows };
writeFileSync(path.join(ROOT, 'bench/results/scale-out.json'), `${JSON.stringify(out, null, 2)}\n`);
const md = [
  '# Scale-out: one web process and 1, 2, 4 worker processes on one PostgreSQL',
  '',
  `${started} · Node ${process.version} · ${cpus().length} CPUs · fake LLM log-normal, median 1.5 s, p95 6 s · ${USERS} users each sending one message at once · script: \`bench/scale-out.ts\``,
  '',
  '| workers | answered | messages/s | TTR p50 ms | TTR p95 ms | TTR max ms | web CPU s | workers CPU s | peak RSS web / worker MB | 503 redeliveries | load avg (start, end) |',
  '|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---|',
  ...rows.map(
    (r) =>
      `| ${r.workers} | ${r.answered}/${r.accepted} | ${r.messagesPerSecond} | ${r.ttrP50Ms} | ${r.ttrP95Ms} | ${r.ttrMaxMs} | ${r.webCpuSeconds} | ${r.workersCpuSeconds} | ${r.webPeakRssMb} / ${r.workerPeakRssMb} | ${r.redeliveriesAfter503} | ${r.loadAverage1m.join(', ')} |`,
  ),
  '',
];
writeFileSync(path.join(ROOT, 'bench/results/scale-out.md'), md.join('\n'));
console.log(md.join('\n'));
