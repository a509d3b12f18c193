/**
 * Load shedding with @fastify/under-pressure: when the event loop lags or memory passes its limit,
 * new requests get 503 with Retry-After at once instead of queueing until everything times out.
 * Probes and /metrics keep answering, so orchestrators see a live (if busy) process.
 */
import { getHeapStatistics } from 'node:v8';
import underPressure, { type FastifyUnderPressureOptions as UnderPressureOptions } from '@fastify/under-pressure';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../../config/config.ts';
import { isProbeOrMetrics } from './https-redirect.ts';

/** Tuning that tests change (the sampling interval decides how fast a stall is noticed). */
export interface SheddingOptions {
  readonly sampleIntervalMs?: number;
}

/** under-pressure options from the config; 0 limits are off. */
export function sheddingOptions(config: Config, opts: SheddingOptions = {}): UnderPressureOptions {
  const e = config.env;
  const retryAfter = e.SHED_RETRY_AFTER_SECONDS;
  let lastLog = 0;
  return {
    maxEventLoopDelay: e.SHED_MAX_EVENT_LOOP_DELAY_MS,
    maxHeapUsedBytes:
      e.SHED_MAX_HEAP_PERCENT > 0
        ? Math.floor((getHeapStatistics().heap_size_limit * e.SHED_MAX_HEAP_PERCENT) / 100)
        : 0,
    maxRssBytes: e.SHED_MAX_RSS_MB * 1024 * 1024,
    sampleInterval: opts.sampleIntervalMs ?? 1000,
    exposeStatusRoute: false,
    retryAfter,
    // under-pressure sends a non-null return value as the response (its typings say void).
    pressureHandler: ((req: FastifyRequest, reply: FastifyReply, type: string, value: number | undefined) => {
      if (isProbeOrMetrics(req.url.split('?')[0] ?? '')) return undefined;
      const now = Date.now();
      // One line per 5 s at most: under overload, logging every shed request adds to the overload.
      if (now - lastLog > 5000) {
        lastLog = now;
        req.log.warn({ type, value }, 'shedding load: answering 503');
      }
      reply.code(503).header('retry-after', String(retryAfter));
      return { error: { code: 'overloaded', message: 'the server is overloaded; retry later' } };
    }) as unknown as UnderPressureOptions['pressureHandler'],
  };
}

/** Registers under-pressure when any limit is set. */
export async function shedding(app: FastifyInstance, config: Config, opts: SheddingOptions = {}): Promise<void> {
  const o = sheddingOptions(config, opts);
  if (!o.maxEventLoopDelay && !o.maxHeapUsedBytes && !o.maxRssBytes) return;
  await app.register(underPressure, o);
}
