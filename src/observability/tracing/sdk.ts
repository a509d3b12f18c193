/**
 * Starts the OpenTelemetry Node SDK with http, pg and Fastify instrumentation. Instrumentation
 * patches modules as they load, so this must run before fastify and pg are imported: the process
 * entry (bin/wadi.js → bootstrap.ts) calls it first; tests call it with an in-memory exporter.
 */
import { FastifyOtelInstrumentation } from '@fastify/otel';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { NodeSDK } from '@opentelemetry/sdk-node';
import type { SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace-base';

import { setTracingShutdown } from './state.ts';

let running: NodeSDK | undefined;

/** Probe and scrape traffic is noise in traces. */
function operational(url: string | undefined): boolean {
  return !!url && (url.startsWith('/health/') || url.startsWith('/metrics'));
}

/** Starts tracing once per process; the OTLP exporter reads OpenTelemetry's standard env vars. */
export function startTracing(
  opts: { exporter?: SpanExporter; spanProcessors?: SpanProcessor[]; serviceName?: string } = {},
): NodeSDK {
  if (running) return running;
  const sdk = new NodeSDK({
    serviceName: opts.serviceName,
    ...(opts.spanProcessors
      ? { spanProcessors: opts.spanProcessors }
      : { traceExporter: opts.exporter ?? new OTLPTraceExporter() }),
    instrumentations: [
      new HttpInstrumentation({ ignoreIncomingRequestHook: (req) => operational(req.url) }),
      new PgInstrumentation(),
      new FastifyOtelInstrumentation({
        registerOnInitialization: true,
        ignorePaths: (route: { url: string }) => operational(route.url),
      }),
    ],
  });
  sdk.start();
  running = sdk;
  setTracingShutdown(async () => {
    running = undefined;
    await sdk.shutdown().catch(() => {});
  });
  return sdk;
}
