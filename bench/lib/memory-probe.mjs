/**
 * Bench-only probe, loaded into a benched `wadi start` with
 * `NODE_OPTIONS="--expose-gc --import <this file>"` (bench/memory.ts): every 250 ms it reads the
 * process's memory (RSS, V8 heap used/committed per space, external, array buffers) and keeps the
 * sample taken at the highest RSS; on SIGUSR2 it forces a full garbage collection and writes
 * `{ peak, live }` (live: the same figures right after that collection) as JSON to
 * WADI_MEMORY_PROBE_OUT. Plain JavaScript so Node 20 loads it before tsx is registered.
 * Never part of WADI itself.
 */
import { writeFileSync } from 'node:fs';
import v8 from 'node:v8';

const MB = 1024 * 1024;
const out = process.env.WADI_MEMORY_PROBE_OUT;

function sample() {
  const m = process.memoryUsage();
  const spaces = {};
  for (const s of v8.getHeapSpaceStatistics()) {
    if (s.space_size > 0) spaces[s.space_name] = { usedMb: s.space_used_size / MB, committedMb: s.space_size / MB };
  }
  return {
    rssMb: m.rss / MB,
    heapUsedMb: m.heapUsed / MB,
    heapTotalMb: m.heapTotal / MB,
    externalMb: m.external / MB,
    arrayBuffersMb: m.arrayBuffers / MB,
    spaces,
  };
}

let peak = sample();
const timer = setInterval(() => {
  const s = sample();
  if (s.rssMb > peak.rssMb) peak = s;
}, 250);
timer.unref();

process.on('SIGUSR2', () => {
  globalThis.gc?.();
  const live = sample();
  if (out) writeFileSync(out, JSON.stringify({ peak, live }));
  peak = live;
});
