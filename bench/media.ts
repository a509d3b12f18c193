/**
 * Media under load (issue 16): the load scenario (50 users, `wadi load load`) twice in the same
 * script on fresh databases, once with text only and once with 20 % voice notes and 10 % photos
 * (`--voice 0.2 --image 0.1`: a 40 KB Opus note and a 120 KB JPEG, served by the fake Graph API /
 * Bot API, transcribed by the fake OpenAI API, the photo shown to the fake vision model,
 * ASSISTANT_VISION=true in both runs). WADI runs as two real processes on real PostgreSQL, as in
 * production: `wadi start --role web` (webhooks, and the sandbox fakes) and `wadi start --role
 * worker` (turns, downloads, transcriptions) with WADI_SANDBOX_URL pointing at the web process.
 * The fake LLM answers at once (`--llm-instant`), so what time-to-reply shows is WADI's pipeline
 * and the media work, not a simulated model.
 *
 * Reported per run: ingest RPS and p95 of the webhook answers; time-to-reply p50/p95 for texts,
 * voice notes and images; the worker's and the web process's CPU seconds and peak RSS; the media
 * outcomes stored in the inbox; the load average. Derived: RPS ratio media/text, and the worker's CPU
 * per media message (the media run's worker CPU minus what its text messages cost at the text run's
 * rate, divided by the media messages).
 *
 *   TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test node --import tsx bench/media.ts
 *   (BENCH_DURATION=<seconds of load per run, default 60>  BENCH_ORDER=text,media | media,text
 *    BENCH_NODE=<the Node binary WADI's processes run on, default this one>
 *    BENCH_NODE_OPTIONS=<NODE_OPTIONS for them, e.g. the Dockerfile's --max-semi-space-size=16>)
 *
 * Writes bench/results/media.json and .md; earlier pairs in media.json are kept (up to 5) so the
 * spread between pairs, i.e. the noise, is on record next to each ratio.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { freePort } from '../test/helpers/cli.ts';
import { createPostgresDatabase } from '../test/helpers/db.ts';
import { cpuSeconds, ROOT, sampleHeap, sampleMemory, startWadi, untilReady, wadiLoad } from './lib/wadi.ts';

const DURATION = process.env.BENCH_DURATION ?? '60';
const ORDER = (process.env.BENCH_ORDER ?? 'text,media').split(',') as ('text' | 'media')[];
const RSS_LIMIT_MB = 250;
const NODE = process.env.BENCH_NODE ?? process.execPath;
const NODE_OPTIONS = process.env.BENCH_NODE_OPTIONS ?? '';
const NODE_VERSION = execFileSync(NODE, ['--version'], { encoding: 'utf8' }).trim();
const JSON_OUT = path.join(ROOT, 'bench/results/media.json');
const MD_OUT = path.join(ROOT, 'bench/results/media.md');

interface Ttr {
  messages: number;
  answered: number;
  p50Ms: number | null;
  p95Ms: number | null;
  maxMs: number | null;
}
interface Report {
  overall: { requests: number; rps: number; p95Ms: number | null; errorRate: number };
  timeToReply?: { all: Ttr; text?: Ttr; voice?: Ttr; image?: Ttr };
  media?: { voice: number; image: number; voiceBytes: number; imageBytes: number };
  passed: boolean;
  failures: string[];
}

async function inboxFigures(dbUrl: string) {
  const c = new pg.Client({ connectionString: dbUrl });
  await c.connect();
  try {
    const { rows } = await c.query<{ kind: string; status: string; outcome: string | null; n: string }>(
      `select kind, status, media->>'outcome' as outcome, count(*) as n from inbox_messages
       group by 1, 2, 3 order by 1, 2, 3`,
    );
    return rows.map((r) => ({ kind: r.kind, status: r.status, outcome: r.outcome, n: Number(r.n) }));
  } finally {
    await c.end();
  }
}

async function run(kind: 'text' | 'media') {
  const db = await createPostgresDatabase();
  const webPort = await freePort();
  const workerPort = await freePort();
  const webUrl = `http://127.0.0.1:${webPort}`;
  const common = {
    DATABASE_URL: db.url,
    WADI_SANDBOX_LLM: 'true',
    ASSISTANT_VISION: 'true',
    ...(NODE_OPTIONS ? { NODE_OPTIONS } : {}),
  };
  const web = startWadi({ ...common, PORT: String(webPort) }, { args: ['--role', 'web'], node: NODE });
  let worker: ReturnType<typeof startWadi> | undefined;
  try {
    await untilReady(webUrl, 120_000, 100);
    worker = startWadi(
      { ...common, PORT: String(workerPort), WADI_SANDBOX_URL: webUrl },
      { args: ['--role', 'worker'], node: NODE },
    );
    await untilReady(`http://127.0.0.1:${workerPort}`, 120_000, 100);
    await new Promise((r) => setTimeout(r, 2000));
    const loadAverageAtStart = loadavg();
    const workerMem = sampleMemory(worker.pid);
    const workerHeap = sampleHeap(`http://127.0.0.1:${workerPort}`);
    const webMem = sampleMemory(web.pid);
    const workerCpu0 = cpuSeconds(worker.pid);
    const webCpu0 = cpuSeconds(web.pid);
    const t0 = Date.now();
    const args = ['--llm-instant', ...(kind === 'media' ? ['--voice', '0.2', '--image', '0.1'] : [])];
    const { exitCode, report } = await wadiLoad('load', webUrl, { duration: DURATION, drain: 60, args });
    const seconds = (Date.now() - t0) / 1000;
    const workerCpu = cpuSeconds(worker.pid) - workerCpu0;
    const webCpu = cpuSeconds(web.pid) - webCpu0;
    const r = report as unknown as Report;
    return {
      kind,
      exitCode,
      passed: r.passed,
      failures: r.failures,
      seconds: Math.round(seconds),
      ingest: {
        requests: r.overall.requests,
        rps: r.overall.rps,
        p95Ms: r.overall.p95Ms,
        errorRate: r.overall.errorRate,
      },
      timeToReply: r.timeToReply,
      mediaSent: r.media,
      worker: {
        cpuSeconds: Math.round(workerCpu * 100) / 100,
        cpuPercentOfOneCore: Math.round((workerCpu / seconds) * 1000) / 10,
        peakMemory: workerMem(),
        heap: workerHeap(),
      },
      web: {
        cpuSeconds: Math.round(webCpu * 100) / 100,
        peakMemory: webMem(),
      },
      inbox: await inboxFigures(db.url),
      loadAverageAtStart,
      loadAverageAtEnd: loadavg(),
    };
  } finally {
    await worker?.stop();
    await web.stop();
    await db.drop();
  }
}

type Run = Awaited<ReturnType<typeof run>>;

const started = new Date().toISOString();
const runs: Partial<Record<'text' | 'media', Run>> = {};
for (const k of ORDER) {
  console.error(`${k} run (${DURATION} s of load)…`);
  runs[k] = await run(k);
  console.error(JSON.stringify(runs[k]));
}
const text = runs.text as Run;
const media = runs.media as Run;
const messages = (r: Run) => r.inbox.reduce((n, x) => n + x.n, 0);
const mediaMessages = media.inbox.filter((x) => x.kind === 'audio' || x.kind === 'image').reduce((n, x) => n + x.n, 0);
const perTextMessage = text.worker.cpuSeconds / Math.max(1, messages(text));
const mediaTextMessages = messages(media) - mediaMessages;
const cpuPerMediaMessageMs =
  mediaMessages > 0
    ? Math.round(((media.worker.cpuSeconds - perTextMessage * mediaTextMessages) / mediaMessages) * 10_000) / 10
    : null;
const pair = {
  started,
  wadiNode: NODE_VERSION,
  nodeOptions: NODE_OPTIONS,
  order: ORDER.join(','),
  durationSeconds: Number(DURATION),
  rpsRatio: Math.round((media.ingest.rps / text.ingest.rps) * 1000) / 1000,
  ingestP95Ms: { text: text.ingest.p95Ms, media: media.ingest.p95Ms },
  workerCpuPerTextMessageMs: Math.round(perTextMessage * 10_000) / 10,
  workerCpuPerMediaMessageMs: cpuPerMediaMessageMs,
  workerPeakRssMb: media.worker.peakMemory.rssMb,
  workerPeakRssTextRunMb: text.worker.peakMemory.rssMb,
  workerPeakRssWithinLimit: media.worker.peakMemory.rssMb < RSS_LIMIT_MB,
  loadAverage1m: {
    start: (runs[ORDER[0]] as Run).loadAverageAtStart[0],
    end: (runs[ORDER[ORDER.length - 1]] as Run).loadAverageAtEnd[0],
  },
};

const previous = existsSync(JSON_OUT)
  ? ((JSON.parse(readFileSync(JSON_OUT, 'utf8')) as { history?: unknown[]; pair?: unknown }).history ?? [])
  : [];
const history = [...previous, pair].slice(-5) as (typeof pair)[];
const out = {
  node: process.version,
  wadiNode: NODE_VERSION,
  nodeOptions: NODE_OPTIONS,
  cpus: 2,
  rssLimitMb: RSS_LIMIT_MB,
  pair,
  runs,
  history,
};
writeFileSync(JSON_OUT, `${JSON.stringify(out, null, 2)}\n`);

const ttr = (t: Ttr | undefined) =>
  t ? `${t.p50Ms ?? '–'} / ${t.p95Ms ?? '–'} ms (${t.answered}/${t.messages})` : '–';
const row = (r: Run) =>
  `| ${r.kind} | ${r.ingest.requests} | ${r.ingest.rps} | ${r.ingest.p95Ms} | ${(r.ingest.errorRate * 100).toFixed(2)} | ${ttr(r.timeToReply?.text ?? r.timeToReply?.all)} | ${ttr(r.timeToReply?.voice)} | ${ttr(r.timeToReply?.image)} | ${r.worker.cpuSeconds} s | ${r.worker.peakMemory.rssMb} MB (${r.worker.peakMemory.startRssMb} at start; heap ≤ ${r.worker.heap.heapUsedMaxMb ?? '–'} MB) | ${r.web.peakMemory.rssMb} MB | ${r.loadAverageAtStart[0].toFixed(1)} → ${r.loadAverageAtEnd[0].toFixed(1)} |`;
const outcomes = media.inbox
  .filter((x) => x.kind !== 'text')
  .map((x) => `${x.kind}/${x.status}/${x.outcome ?? '–'} × ${x.n}`)
  .join(', ');
const lines = [
  '# Media under load',
  '',
  `${started} · WADI on Node ${NODE_VERSION}${NODE_OPTIONS ? ` with NODE_OPTIONS=${NODE_OPTIONS}` : ''} (load generator on ${process.version}) · 2 vCPUs shared by WADI (web + worker processes), PostgreSQL and the load generator · script: \`bench/media.ts\` · ${DURATION} s of the load scenario per run, order ${ORDER.join(' then ')}, fake LLM instant`,
  '',
  'Media run: 20 % of chat messages voice notes (40 KB Opus), 10 % photos (120 KB JPEG with the caption), each downloaded by the worker from the fake Graph API / Bot API, voice transcribed by the fake OpenAI API, photos sent to the fake vision model (ASSISTANT_VISION=true in both runs).',
  '',
  '| run | webhook requests | ingest RPS | ingest p95 ms | errors % | time-to-reply text p50 / p95 | voice p50 / p95 | image p50 / p95 | worker CPU | worker peak RSS | web peak RSS | load average 1 min |',
  '|---|--:|--:|--:|--:|---|---|---|--:|--:|--:|---|',
  row(text),
  row(media),
  '',
  `- Ingest RPS ratio media / text: **${pair.rpsRatio}** (the load is closed-loop, 50 users with 1 s think time: the webhook path does the same work for a media message, it only stores the media id).`,
  `- Worker CPU per text message: ${pair.workerCpuPerTextMessageMs} ms; per media message: **${cpuPerMediaMessageMs ?? '–'} ms** (the media run's worker CPU minus its texts at the text run's rate, over ${mediaMessages} media messages).`,
  `- Worker peak RSS in the media run: **${media.worker.peakMemory.rssMb} MB**, in the text run ${text.worker.peakMemory.rssMb} MB: media adds ${media.worker.peakMemory.rssMb - text.worker.peakMemory.rssMb} MB at the peak (limit ${RSS_LIMIT_MB} MB: ${pair.workerPeakRssWithinLimit ? 'within' : 'EXCEEDED'}). The web process also hosts the sandbox fakes, whose call log (bounded: recent bodies whole up to 4 MiB, the whole log up to 16 MiB) is not WADI's own.`,
  `- Stored media outcomes (media run): ${outcomes || 'none'}.`,
  `- \`wadi load\` verdicts: text ${text.passed ? 'pass' : `FAIL (${text.failures.join('; ')})`}, media ${media.passed ? 'pass' : `FAIL (${media.failures.join('; ')})`}.`,
  '',
  "## Pairs recorded so far (the spread is the machine's noise)",
  '',
  '| started | WADI on | order | RPS ratio media/text | worker CPU per text / media message | worker peak RSS text / media run | load average 1 min |',
  '|---|---|---|--:|---|--:|---|',
  ...history.map(
    (p) =>
      `| ${p.started} | ${p.wadiNode ?? 'v20 (tsx)'}${p.nodeOptions ? ` ${p.nodeOptions}` : ''} | ${p.order} | ${p.rpsRatio} | ${p.workerCpuPerTextMessageMs} / ${p.workerCpuPerMediaMessageMs ?? '–'} ms | ${p.workerPeakRssTextRunMb ?? '–'} / ${p.workerPeakRssMb} MB | ${p.loadAverage1m.start.toFixed(1)} → ${p.loadAverage1m.end.toFixed(1)} |`,
  ),
  '',
];
writeFileSync(MD_OUT, `${lines.join('\n')}\n`);
console.log(lines.join('\n'));
