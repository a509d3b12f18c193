#!/usr/bin/env node
// Entry point for the `wadi` command. Node ≥ 22.18 runs the TypeScript sources natively (type
// stripping); on Node 20 the tsx loader, a runtime dependency, does the same job. No build step.
import { setFlagsFromString } from 'node:v8';

// V8 lets the old generation grow up to 4× what survived the last full collection before it
// collects again (the factor it picks when the heap limit is large, as on a host without a
// container memory limit); one `wadi start` then peaks at three to four times its live set.
// A fixed factor of 1.5 keeps the peak near the live set for a few more full collections (see
// docs/performance.md, "Memory", for the measured memory and CPU). V8 reads this flag at every
// full collection, so setting it here, first, takes effect; `node --heap-growing-percent=N
// bin/wadi.js` overrides it.
const HEAP_GROWING_PERCENT = 50;
if (!process.execArgv.some((a) => a.startsWith('--heap-growing-percent'))) {
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}
if (!process.features.typescript) {
  const { register } = await import('tsx/esm/api');
  register();
}
// Tracing patches fastify, pg and http as they load, so it starts before anything imports them
// (see src/observability/tracing/bootstrap.ts for why it reads this one variable itself).
if (process.env.OTEL_EXPORTER_OTLP_ENDPOINT) await import('../src/observability/tracing/bootstrap.ts');
await import('../src/main.ts');
