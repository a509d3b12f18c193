/**
 * Load shedding: when the event loop lags or memory passes its limit, new requests get 503 with
 * Retry-After at once instead of queueing until everything times out. Probes and /metrics keep
 * answering, so orchestrators see a live (if busy) process.
 *
 * This did @fastify/under-pressure's job with its options, but that plugin keeps a 10 ms
 * event-loop histogram running for the life of the process (it cannot be turned off or slowed),
 * which wakes an idle process 100 times a second. Here the delay comes from EventLoopMonitor
 * (the 10 ms histogram only while the loop is busy, a 1 s check otherwise) and memory is read
 * when a request arrives, at most once per sampling interval.
 */
import { getHeapStatistics } from 'node:v8';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../../config/config.ts';
import { EventLoopMonitor } from '../../observability/metrics/event-loop.ts';
import { isProbeOrMetrics } from './https-redirect.ts';

/** Tuning that tests change (the sampling interval decides how fast a stall is noticed). */
export interface SheddingOptions {
  readonly sampleIntervalMs?: number;
}

/** The limits from the config; 0 is off. */
export interface SheddingLimits {
  readonly maxEventLoopDelayMs: number;
  readonly maxHeapUsedBytes: number;
  readonly maxRssBytes: number;
  readonly sampleIntervalMs: number;
  readonly retryAfterSeconds: number;
}

/** What is over its limit now. */
interface Pressure {
  readonly type: 'eventLoopDelay' | 'heapUsedBytes' | 'rssBytes';
  readonly value: number;
}

/** The shedding limits from the config. */
export function sheddingLimits(config: Config, opts: SheddingOptions = {}): SheddingLimits {
  const e = config.env;
  return {
    maxEventLoopDelayMs: e.SHED_MAX_EVENT_LOOP_DELAY_MS,
    maxHeapUsedBytes:
      e.SHED_MAX_HEAP_PERCENT > 0
        ? Math.floor((getHeapStatistics().heap_size_limit * e.SHED_MAX_HEAP_PERCENT) / 100)
        : 0,
    maxRssBytes: e.SHED_MAX_RSS_MB * 1024 * 1024,
    sampleIntervalMs: opts.sampleIntervalMs ?? 1000,
    retryAfterSeconds: e.SHED_RETRY_AFTER_SECONDS,
  };
}

/** Registers the shedding hook when any limit is set. */
export async function shedding(app: FastifyInstance, config: Config, opts: SheddingOptions = {}): Promise<void> {
  const l = sheddingLimits(config, opts);
  if (!l.maxEventLoopDelayMs && !l.maxHeapUsedBytes && !l.maxRssBytes) return;
  const loop = l.maxEventLoopDelayMs > 0 ? new EventLoopMonitor({ checkMs: l.sampleIntervalMs }) : undefined;
  loop?.start();
  app.addHook('onClose', async () => loop?.stop());

  let memoryAt = Number.NEGATIVE_INFINITY;
  let heapUsed = 0;
  let rss = 0;
  const pressure = (): Pressure | undefined => {
    if (loop && loop.delayMs > l.maxEventLoopDelayMs) return { type: 'eventLoopDelay', value: loop.delayMs };
    if (!l.maxHeapUsedBytes && !l.maxRssBytes) return undefined;
    const now = performance.now();
    if (now - memoryAt >= l.sampleIntervalMs) {
      memoryAt = now;
      const m = process.memoryUsage();
      heapUsed = m.heapUsed;
      rss = m.rss;
    }
    if (l.maxHeapUsedBytes && heapUsed > l.maxHeapUsedBytes) return { type: 'heapUsedBytes', value: heapUsed };
    if (l.maxRssBytes && rss > l.maxRssBytes) return { type: 'rssBytes', value: rss };
    return undefined;
  };

  let lastLog = 0;
  app.addHook('onRequest', (req, reply, done) => {
    const p = pressure();
    if (!p || isProbeOrMetrics(req.url.split('?')[0] ?? '')) {
      done();
      return;
    }
    const now = Date.now();
    // One line per 5 s at most: under overload, logging every shed request adds to the overload.
    if (now - lastLog > 5000) {
      lastLog = now;
      req.log.warn({ type: p.type, value: p.value }, 'shedding load: answering 503');
    }
    reply
      .code(503)
      .header('retry-after', String(l.retryAfterSeconds))
      .send({ error: { code: 'overloaded', message: 'the server is overloaded; retry later' } });
  });
}
