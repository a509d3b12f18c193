/**
 * Objects one feature builds and others use, exchanged through `ModuleContext.registry` under
 * these keys. Look them up when needed (at request or tick time), not at build time, so features
 * do not depend on build order beyond what MODULES states.
 */
import type { EventEmitter } from 'node:events';
import type { ChannelName, ChannelSender } from '../channels/types.ts';
import type { InboxWriter } from '../inbox/writer.ts';
import type { HealthCheck } from '../ops/health/health.ts';
import type { ModuleContext } from './module.ts';

/** RPS, p95 latency and error rate over one window (from src/ops/metrics). */
export interface WindowStats {
  readonly windowSeconds: number;
  readonly requests: number;
  readonly rps: number;
  readonly p95Ms: number | null;
  /** 4xx+5xx share of requests, 0..1, excluding probe and metrics routes. */
  readonly errorRate: number;
}

/** In-process request statistics for /admin/stats and the alert rules. */
export interface StatsProvider {
  /** Windows of 1, 5 and 15 minutes. */
  windows(): { '1m': WindowStats; '5m': WindowStats; '15m': WindowStats };
  /** Per-minute points for the last `minutes` minutes (charts). */
  series(minutes: number): { t: number; rps: number; p95Ms: number | null; errorRate: number }[];
}

/** An alert as shown by /admin/alerts. */
export interface AlertView {
  readonly alert: string;
  readonly state: 'pending' | 'firing' | 'resolved';
  readonly value?: string;
  readonly threshold?: string;
  readonly summary?: string;
  readonly startedAt: string;
  readonly resolvedAt?: string;
  readonly runbook?: string;
}

/** Alert state for /admin/alerts (from src/ops/alerts). */
export interface AlertsProvider {
  firing(): Promise<AlertView[]>;
  recent(limit: number): Promise<AlertView[]>;
}

/** The assistant's availability, for the LlmUnavailable alert and /admin/health (src/assistant). */
export interface AssistantStatus {
  /** True while the circuit breaker is open (the LLM is failing or too slow). */
  breakerOpen(): boolean;
  /** Last error seen from the LLM, if any (no secrets). */
  lastError(): string | undefined;
}

/** Telegram's view of our webhook (getWebhookInfo), for the TelegramWebhookErrors alert and preflight. */
export interface TelegramWebhookInfo {
  readonly url: string;
  readonly pendingUpdateCount: number;
  readonly lastErrorDate?: number;
  readonly lastErrorMessage?: string;
}

/** kv table key under which the backup feature records its last success: `{ at: ISO string, file }`. */
export const KV_BACKUP_LAST_SUCCESS = 'backup:last_success';

/** Registry keys and the types stored under them. */
export interface SharedObjects {
  /** The process's group-committing inbox writer (src/inbox). */
  'inbox.writer': InboxWriter;
  /** Emits 'committed' (ids: number[]) after new inbound events are stored, to wake workers. */
  'inbox.events': EventEmitter;
  /** Outbound senders by channel (src/channels/*). */
  'channels.senders': Map<ChannelName, ChannelSender>;
  'ops.stats': StatsProvider;
  'ops.alerts': AlertsProvider;
  'assistant.status': AssistantStatus;
  /** Fetches getWebhookInfo from the Bot API (src/channels/telegram). */
  'telegram.webhookInfo': () => Promise<TelegramWebhookInfo>;
  /** Wakes this process's outbox dispatcher (admin sends go out now instead of at its next poll). */
  'outbox.wake': () => void;
  /** Extra dependency checks shown by /admin/health (LLM, Graph API token, Telegram webhook). */
  'admin.dependencyChecks': HealthCheck[];
}

/** Stores a shared object. */
export function provide<K extends keyof SharedObjects>(ctx: ModuleContext, key: K, value: SharedObjects[K]): void {
  ctx.registry.set(key, value);
}

/** Reads a shared object, or undefined when the feature providing it is not running. */
export function lookup<K extends keyof SharedObjects>(ctx: ModuleContext, key: K): SharedObjects[K] | undefined {
  return ctx.registry.get(key) as SharedObjects[K] | undefined;
}

/** Reads a shared list or map, creating it empty if nobody has yet (for contributions). */
export function contribute<K extends 'admin.dependencyChecks'>(ctx: ModuleContext, key: K): SharedObjects[K] {
  let v = ctx.registry.get(key) as SharedObjects[K] | undefined;
  if (!v) {
    v = [] as unknown as SharedObjects[K];
    ctx.registry.set(key, v);
  }
  return v;
}

/** The channel sender map, created empty on first use. */
export function senders(ctx: ModuleContext): Map<ChannelName, ChannelSender> {
  let m = ctx.registry.get('channels.senders') as Map<ChannelName, ChannelSender> | undefined;
  if (!m) {
    m = new Map();
    ctx.registry.set('channels.senders', m);
  }
  return m;
}
