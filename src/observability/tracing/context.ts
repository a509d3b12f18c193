/**
 * Trace context helpers that work with or without the OpenTelemetry SDK running: the W3C
 * `traceparent` of the active span (stored with the inbox row by the webhook), running work
 * inside a stored traceparent (the worker, possibly another process, continues the same trace),
 * and the trace id for log lines. Only `@opentelemetry/api` is imported: without the SDK these
 * are cheap no-ops.
 */
import { context, isSpanContextValid, type SpanContext, type TraceFlags, trace } from '@opentelemetry/api';

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** The active span as a W3C traceparent (`00-<trace>-<span>-<flags>`), or undefined if none. */
export function currentTraceparent(): string | undefined {
  const sc = trace.getActiveSpan()?.spanContext();
  if (!sc || !isSpanContextValid(sc)) return undefined;
  return `00-${sc.traceId}-${sc.spanId}-${(sc.traceFlags & 0xff).toString(16).padStart(2, '0')}`;
}

/** Parses a stored traceparent; undefined when absent or malformed (never throws). */
export function parseTraceparent(traceparent: string | null | undefined): SpanContext | undefined {
  const m = traceparent ? TRACEPARENT.exec(traceparent.trim()) : null;
  if (!m) return undefined;
  const sc: SpanContext = {
    traceId: m[1],
    spanId: m[2],
    traceFlags: Number.parseInt(m[3], 16) as TraceFlags,
    isRemote: true,
  };
  return isSpanContextValid(sc) ? sc : undefined;
}

/**
 * Runs `fn` with the stored traceparent as the parent context, so spans it starts (LLM call, send,
 * pg queries) join the trace of the webhook that stored the message. A missing or malformed value
 * just runs `fn` as is.
 */
export function withStoredContext<T>(traceparent: string | null | undefined, fn: () => T): T {
  const sc = parseTraceparent(traceparent);
  if (!sc) return fn();
  return context.with(trace.setSpanContext(context.active(), sc), fn);
}

/** pino mixin: `trace_id` and `span_id` of the active span, when there is one. */
export function traceLogFields(): Record<string, string> {
  const sc = trace.getActiveSpan()?.spanContext();
  if (!sc || !isSpanContextValid(sc)) return {};
  return { trace_id: sc.traceId, span_id: sc.spanId };
}
