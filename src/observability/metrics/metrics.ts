/**
 * Every metric named in CONTRACT.md, defined once on one registry. Label values are bounded sets
 * (route templates, channel names, outcomes): never user ids, phone numbers or raw URLs.
 */
import client from 'prom-client';
import { eventLoopLagGauges } from './event-loop-gauges.ts';

/** The registry /metrics serves. */
export const registry = new client.Registry();
// prom-client's event-loop histogram wakes the process every 10 ms for its whole life (about half
// of an idle process's CPU, bench/idle.ts): its precision is set so that it never fires, and the
// seven nodejs_eventloop_lag_* gauges it fed come from EventLoopMonitor under the same names.
client.collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 2 ** 31 - 1 });
eventLoopLagGauges(registry);

// ~1 ms to 10 s: webhook acknowledgements should sit at the low end.
const HTTP_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
// LLM calls take seconds; keep resolution up to two minutes.
const LLM_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120];
const REPLY_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120];

/** The metrics, by role. */
export const metrics = {
  httpDuration: new client.Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by route template',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: HTTP_BUCKETS,
    registers: [registry],
  }),
  webhookEvents: new client.Counter({
    name: 'wadi_webhook_events_total',
    help: 'Webhook events by channel and outcome (accepted, duplicate, invalid_signature, malformed, ignored, unstorable)',
    labelNames: ['channel', 'outcome'] as const,
    registers: [registry],
  }),
  inboxPending: new client.Gauge({
    name: 'wadi_inbox_pending',
    help: 'Inbound messages waiting to be answered',
    registers: [registry],
  }),
  inboxOldestPending: new client.Gauge({
    name: 'wadi_inbox_oldest_pending_seconds',
    help: 'Age of the oldest inbound message waiting to be answered',
    registers: [registry],
  }),
  outboundMessages: new client.Counter({
    name: 'wadi_outbound_messages_total',
    help: 'Outbound sends by channel and outcome (sent, retried, failed)',
    labelNames: ['channel', 'outcome'] as const,
    registers: [registry],
  }),
  replyLatency: new client.Histogram({
    name: 'wadi_reply_latency_seconds',
    help: 'Inbound received to reply accepted by the platform',
    labelNames: ['channel'] as const,
    buckets: REPLY_BUCKETS,
    registers: [registry],
  }),
  llmDuration: new client.Histogram({
    name: 'wadi_llm_request_duration_seconds',
    help: 'LLM request duration by outcome',
    labelNames: ['outcome'] as const,
    buckets: LLM_BUCKETS,
    registers: [registry],
  }),
  llmTokens: new client.Counter({
    name: 'wadi_llm_tokens_total',
    help: 'LLM tokens by kind (prompt, completion)',
    labelNames: ['kind'] as const,
    registers: [registry],
  }),
  telegramPlainFallbacks: new client.Counter({
    name: 'wadi_telegram_plain_fallbacks_total',
    help: 'Telegram reply parts resent as plain text after the Bot API refused their HTML ("can\'t parse entities")',
    registers: [registry],
  }),
  alertsFiring: new client.Gauge({
    name: 'wadi_alerts_firing',
    help: '1 while the alert is firing, else 0',
    labelNames: ['alert'] as const,
    registers: [registry],
  }),
  // Media (src/media): what became of each inbound voice note, image, document…
  mediaItems: new client.Counter({
    name: 'wadi_media_total',
    help: 'Inbound media by channel, kind and outcome (transcribed, extracted, image, caption_only, described, too_large, gone, integrity, unsupported, rejected, disabled, unavailable)',
    labelNames: ['channel', 'kind', 'outcome'] as const,
    registers: [registry],
  }),
  mediaBytes: new client.Counter({
    name: 'wadi_media_bytes_total',
    help: 'Bytes of inbound media downloaded, by channel and kind',
    labelNames: ['channel', 'kind'] as const,
    registers: [registry],
  }),
  transcriptionDuration: new client.Histogram({
    name: 'wadi_transcription_duration_seconds',
    help: 'Speech-to-text request duration by outcome',
    labelNames: ['outcome'] as const,
    buckets: LLM_BUCKETS,
    registers: [registry],
  }),
  backupLastSuccess: new client.Gauge({
    name: 'wadi_backup_last_success_timestamp_seconds',
    help: 'Unix time of the last successful backup',
    registers: [registry],
  }),
  handoffs: new client.Counter({
    name: 'wadi_handoffs_total',
    help: 'Conversations handed to a person, by channel and trigger (command, keyword, tool)',
    labelNames: ['channel', 'trigger'] as const,
    registers: [registry],
  }),
} as const;

// The webhook series the alert rules take an increase() of exist from the start at 0, so the first
// refused signature or unstored event is an increase (a series that appears at 1 shows none).
for (const channel of ['whatsapp', 'telegram']) {
  for (const outcome of ['accepted', 'invalid_signature', 'unstorable'])
    metrics.webhookEvents.inc({ channel, outcome }, 0);
}
