import { spawn } from 'node:child_process';
import path from 'node:path';
import { trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LogCapture } from '../../../test/helpers/wadi.ts';
import { createLogger } from '../logging/logger.ts';
import { currentTraceparent, parseTraceparent, withStoredContext } from './context.ts';
import { startTracing } from './sdk.ts';
import { stopTracing } from './state.ts';

const FIXTURE = path.resolve(import.meta.dirname, '../../../test/fixtures/trace-worker.ts');

function runWorker(
  traceparent: string,
): Promise<{ spans: { name: string; traceId: string; spanId: string; parentSpanId?: string }[]; inner?: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, traceparent], {
      stdio: ['ignore', 'pipe', 'pipe'],
      cwd: path.resolve(import.meta.dirname, '../../..'),
      env: { PATH: process.env.PATH, HOME: process.env.HOME },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      err += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) reject(new Error(`worker exited ${code}: ${err}`));
      else resolve(JSON.parse(out));
    });
  });
}

describe('trace context without the SDK', () => {
  it('is a no-op: no traceparent, work still runs, malformed values are ignored', () => {
    expect(currentTraceparent()).toBeUndefined();
    expect(withStoredContext(undefined, () => 7)).toBe(7);
    expect(withStoredContext('garbage', () => 8)).toBe(8);
    expect(parseTraceparent('00-00000000000000000000000000000000-0000000000000000-01')).toBeUndefined();
    expect(parseTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01')).toMatchObject({
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      spanId: '00f067aa0ba902b7',
      isRemote: true,
    });
  });
});

describe('one trace across web and worker processes', () => {
  const exporter = new InMemorySpanExporter();
  const processor = new SimpleSpanProcessor(exporter);
  beforeAll(() => {
    startTracing({ spanProcessors: [processor], serviceName: 'wadi-web' });
  });
  afterAll(async () => {
    await stopTracing();
  });

  it('a worker continuing the stored traceparent joins the webhook trace, and log lines carry the trace id', async () => {
    const logs = new LogCapture();
    const { logger } = createLogger({ level: 'info', format: 'json', destination: logs });
    let stored: string | undefined;
    trace.getTracer('wadi').startActiveSpan('POST /webhooks/telegram', (span) => {
      stored = currentTraceparent();
      logger.info('stored inbound message');
      span.end();
    });
    logger.info('outside any span');
    await processor.forceFlush();
    const [webhook] = exporter.getFinishedSpans();
    expect(stored).toBe(`00-${webhook.spanContext().traceId}-${webhook.spanContext().spanId}-01`);
    const [inside, outside] = logs.records();
    expect(inside.trace_id).toBe(webhook.spanContext().traceId);
    expect(inside.span_id).toBe(webhook.spanContext().spanId);
    expect(outside.trace_id).toBeUndefined();

    // The worker runs in another process with its own SDK, reading the traceparent from the row.
    const worker = await runWorker(stored as string);
    const turn = worker.spans.find((s) => s.name === 'conversation.turn');
    const llm = worker.spans.find((s) => s.name === 'llm.call');
    expect(turn?.traceId).toBe(webhook.spanContext().traceId);
    expect(turn?.parentSpanId).toBe(webhook.spanContext().spanId);
    expect(llm?.traceId).toBe(webhook.spanContext().traceId);
    expect(llm?.parentSpanId).toBe(turn?.spanId);
    expect(worker.inner).toContain(webhook.spanContext().traceId);
  });
});
