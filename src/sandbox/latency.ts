/**
 * The fake LLM's latency model. `instant` answers at once (pipeline benchmarks, tests); `lognormal`
 * draws each completion's time from a log-normal distribution given by its median and 95th
 * percentile (the usual shape of hosted LLM latency: most answers near the median, a long tail),
 * capped at `maxMs`, optionally plus the completion's tokens at `tokensPerSecond`.
 */
import { z } from 'zod';

/** How slow the fake LLM is. */
export interface LatencyModel {
  readonly mode: 'instant' | 'lognormal';
  readonly medianMs: number;
  readonly p95Ms: number;
  /** Completion tokens generated per second (0 = the draw covers the whole answer). */
  readonly tokensPerSecond: number;
  /** The log-normal draw is capped here (0 = 4 × p95); the token time comes on top. */
  readonly maxMs: number;
}

/** Answers at once. */
export const INSTANT: LatencyModel = { mode: 'instant', medianMs: 0, p95Ms: 0, tokensPerSecond: 0, maxMs: 0 };

/** The model the load scenarios and benches use by default: 1.5 s median, 6 s p95. */
export const REALISTIC: LatencyModel = { mode: 'lognormal', medianMs: 1500, p95Ms: 6000, tokensPerSecond: 0, maxMs: 0 };

/** The body of PUT /sandbox/llm/latency (snake_case like the faults). */
export const latencySchema = z
  .object({
    mode: z.enum(['instant', 'lognormal']),
    median_ms: z.number().min(0).max(600_000).default(0),
    p95_ms: z.number().min(0).max(600_000).default(0),
    tokens_per_second: z.number().min(0).max(100_000).default(0),
    max_ms: z.number().min(0).max(600_000).default(0),
  })
  .refine((v) => v.mode === 'instant' || (v.median_ms > 0 && v.p95_ms >= v.median_ms), {
    message: 'lognormal needs median_ms > 0 and p95_ms >= median_ms',
  });

/** From the route's body. */
export function latencyFromBody(b: z.infer<typeof latencySchema>): LatencyModel {
  if (b.mode === 'instant') return INSTANT;
  return {
    mode: 'lognormal',
    medianMs: b.median_ms,
    p95Ms: b.p95_ms,
    tokensPerSecond: b.tokens_per_second,
    maxMs: b.max_ms,
  };
}

/** As the route shows it. */
export function latencyToBody(m: LatencyModel) {
  return {
    mode: m.mode,
    median_ms: m.medianMs,
    p95_ms: m.p95Ms,
    tokens_per_second: m.tokensPerSecond,
    max_ms: m.maxMs,
  };
}

const Z95 = 1.6448536269514722;

/** A standard normal draw (Box–Muller). */
function normal(random: () => number): number {
  const u = 1 - random();
  const v = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** How long one completion of `completionTokens` takes under `m`, in ms. */
export function drawLatencyMs(m: LatencyModel, completionTokens: number, random: () => number = Math.random): number {
  if (m.mode === 'instant') return 0;
  const mu = Math.log(m.medianMs);
  const sigma = m.p95Ms > m.medianMs ? (Math.log(m.p95Ms) - mu) / Z95 : 0;
  const cap = m.maxMs > 0 ? m.maxMs : 4 * m.p95Ms;
  const firstToken = Math.min(Math.exp(mu + sigma * normal(random)), cap);
  return m.tokensPerSecond > 0 ? firstToken + (completionTokens / m.tokensPerSecond) * 1000 : firstToken;
}
