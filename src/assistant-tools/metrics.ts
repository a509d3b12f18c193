/** `wadi_tool_calls_total{tool,outcome}` and `wadi_tool_duration_seconds{tool}` (CONTRACT.md). Tool
 * labels are the configured, namespaced tool names: a bounded set chosen by the operator. */
import client from 'prom-client';
import { registry } from '../observability/metrics/metrics.ts';

/** Tool-call metrics. */
export const toolMetrics = {
  calls: new client.Counter({
    name: 'wadi_tool_calls_total',
    help: 'Tool calls by tool and outcome (ok, error, timeout, unavailable, replayed, refused)',
    labelNames: ['tool', 'outcome'] as const,
    registers: [registry],
  }),
  duration: new client.Histogram({
    name: 'wadi_tool_duration_seconds',
    help: 'Duration of tool calls that ran (replays excluded)',
    labelNames: ['tool'] as const,
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60],
    registers: [registry],
  }),
};
