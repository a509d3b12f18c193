/** Shapes of the admin API's answers (see /admin/openapi.json). */

export interface Dependency {
  name: string;
  componentType: string | null;
  status: 'pass' | 'warn' | 'fail';
  latencyMs: number | null;
  detail: string | null;
  observedValue: string | null;
}

export interface HealthView {
  status: 'pass' | 'warn' | 'fail';
  checkedAt: string;
  shuttingDown: boolean;
  dependencies: Dependency[];
}

export interface Queues {
  inbox: { pending: number; processing: number; dead: number; oldestPendingSeconds: number | null };
  outbound: { lastHour: Record<string, number>; last24h: Record<string, number> };
}

export interface WindowStats {
  windowSeconds: number;
  requests: number;
  rps: number;
  p95Ms: number | null;
  errorRate: number;
}

export interface Stats extends Queues {
  windows: { '1m': WindowStats; '5m': WindowStats; '15m': WindowStats };
  series: { t: number; rps: number; p95Ms: number | null; errorRate: number }[];
}

export interface Alert {
  alert: string;
  state: 'pending' | 'firing' | 'resolved';
  value?: string;
  threshold?: string;
  summary?: string;
  startedAt: string;
  resolvedAt?: string;
  runbook?: string;
}

export interface Alerts {
  firing: Alert[];
  recent: Alert[];
}

export interface Session {
  id: number;
  channel: 'whatsapp' | 'telegram';
  chatId: string;
  userId: string | null;
  displayName: string | null;
  chatType: string;
  firstSeenAt: string;
  lastSeenAt: string;
  lastInboundAt: string | null;
  messagesIn: number;
  messagesOut: number;
  blocked: boolean;
  paused: boolean;
  contextResetAt: string | null;
  active: boolean;
}

export interface Message {
  direction: 'in' | 'out';
  id: number;
  at: string;
  kind: string;
  text: string | null;
  status: string;
  attempts: number;
  timeline: { stage: string; at: string }[];
  failureReason: string | null;
  relatedId: number | null;
  part: number | null;
}

export interface LogRecord {
  level: string;
  time: string;
  msg?: string;
  [key: string]: unknown;
}

export interface Info {
  role: string;
  sandbox: boolean;
  production: boolean;
  channels: string[];
  features: { stats: boolean; alerts: boolean };
  pid: number;
  uptimeSeconds: number;
}
