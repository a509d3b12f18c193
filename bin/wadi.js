#!/usr/bin/env node
// Entry point for the `wadi` command. Node ≥ 22.18 runs the TypeScript sources natively (type
// stripping); on Node 20 the tsx loader, a runtime dependency, does the same job. No build step.
if (!process.features.typescript) {
  const { register } = await import('tsx/esm/api');
  register();
}
// Tracing patches fastify, pg and http as they load, so it starts before anything imports them
// (see src/observability/tracing/bootstrap.ts for why it reads this one variable itself).
if (process.env.OTEL_EXPORTER_OTLP_ENDPOINT) await import('../src/observability/tracing/bootstrap.ts');
await import('../src/main.ts');
