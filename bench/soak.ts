/**
 * The documented soak: SOAK_SECONDS (default 300) at 50 messages/s against one `wadi start`
 * (role all) on real PostgreSQL, sampling RSS, fds, event-loop delay and connections each second.
 *
 *   TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test node --import tsx bench/soak.ts
 *
 * Writes bench/results/soak.json (figures and every sample).
 */
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import path from 'node:path';
import { soak } from '../test/helpers/soak.ts';

const seconds = Number(process.env.SOAK_SECONDS ?? 300);
const started = new Date().toISOString();
const r = await soak(seconds, 50);
const out = { started, node: process.version, loadAverage1m: loadavg()[0], ...r };
writeFileSync(path.resolve(import.meta.dirname, 'results/soak.json'), `${JSON.stringify(out, null, 2)}\n`);
const { samples, ...figures } = r;
console.log(JSON.stringify({ started, ...figures }, null, 2));
