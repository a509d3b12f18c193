/**
 * Rendering cost per reply: parse (micromark + GFM) and render for WhatsApp and Telegram, then
 * split, over the golden corpus (realistic model answers) and over hostile shapes near the
 * parser's guards (src/render/markdown.ts: MAX_MARKDOWN_CHARS, MAX_MARKDOWN_NESTING).
 *
 *   npx tsx bench/render.ts
 *
 * Prints the median and max milliseconds of 20 runs per input and writes bench/results/render.json.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import path from 'node:path';
import { splitForTelegram } from '../src/channels/telegram/split-entities.ts';
import { splitForWhatsApp } from '../src/channels/whatsapp/split-markup.ts';
import { MAX_MARKDOWN_CHARS } from '../src/render/markdown.ts';
import { renderTelegramHtml } from '../src/render/telegram.ts';
import { renderWhatsApp } from '../src/render/whatsapp.ts';

const dir = path.join(import.meta.dirname, '../test/fixtures/markdown');
const inputs: Record<string, string> = {};
for (const f of readdirSync(dir).filter((f) => f.endsWith('.md'))) inputs[f] = readFileSync(path.join(dir, f), 'utf8');
const fill = (unit: string) => unit.repeat(Math.floor(MAX_MARKDOWN_CHARS / unit.length));
inputs['hostile: links at the length cap'] = fill('[a](b) ');
inputs['hostile: unclosed emphasis at the cap'] = fill('*a ');
inputs['hostile: unclosed code spans at the cap'] = fill('`a ');
inputs['hostile: intraword underscores at the cap'] = fill('_a_b ');
inputs['hostile: quotes 40 deep'] = `${'> '.repeat(40)}x\n`.repeat(200);

const RUNS = 20;
const results: { input: string; chars: number; medianMs: number; maxMs: number }[] = [];
for (const [name, md] of Object.entries(inputs)) {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    splitForWhatsApp(renderWhatsApp(md));
    splitForTelegram(renderTelegramHtml(md), 'HTML');
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  const r = {
    input: name,
    chars: md.length,
    medianMs: +times[RUNS >> 1].toFixed(2),
    maxMs: +times[RUNS - 1].toFixed(2),
  };
  results.push(r);
  process.stdout.write(
    `${name.padEnd(44)} ${String(r.chars).padStart(6)} chars  median ${r.medianMs} ms  max ${r.maxMs} ms\n`,
  );
}
const out = path.join(import.meta.dirname, 'results/render.json');
writeFileSync(
  out,
  `${JSON.stringify({ at: new Date().toISOString(), node: process.version, loadavg: loadavg(), runs: RUNS, results }, null, 2)}\n`,
);
process.stdout.write(`written ${out}\n`);
