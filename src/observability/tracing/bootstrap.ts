/**
 * Loaded by bin/wadi.js BEFORE the rest of WADI, and only when OTEL_EXPORTER_OTLP_ENDPOINT is set.
 *
 * Why it reads process.env itself: instrumentation works by patching fastify, pg and http as they
 * are imported, so the SDK has to start before src/main.ts imports them, which is before config is
 * loaded. The variable is still declared (and validated) in src/config/schema.ts; this is the one
 * documented exception to "only config reads process.env".
 *
 * WADI's sources are ES modules, so CommonJS patching alone would miss `import pg from 'pg'`: the
 * import-in-the-middle loader hook (shipped by @opentelemetry/instrumentation) is registered first,
 * limited to the modules we instrument so the rest of the code loads untouched.
 */
import { register } from 'node:module';

register('@opentelemetry/instrumentation/hook.mjs', import.meta.url, {
  data: { include: ['pg', 'pg-pool', 'fastify', 'http', 'https'] },
});

const { startTracing } = await import('./sdk.ts');
const { stopTracing } = await import('./state.ts');
startTracing({ serviceName: process.env.OTEL_SERVICE_NAME ? undefined : 'wadi' });
// Spans still buffered when the process ends normally are flushed.
process.once('beforeExit', () => void stopTracing());
