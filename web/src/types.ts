/**
 * Shapes of the admin API's answers, from the one contract the server validates and serialises with
 * (src/admin/contract.ts, also published as /admin/openapi.json). Type-only: nothing of the server
 * reaches the dashboard bundle.
 */
export type {
  Alert,
  AlertRule,
  Alerts,
  ChannelName,
  DeadLetterPage,
  Dependency,
  Failures,
  HealthView,
  Info,
  LogRecord,
  Logs,
  Message,
  OutboundFailure,
  Queues,
  SandboxMedia,
  SandboxReplies,
  SandboxSent,
  Session,
  SessionPage,
  Stats,
  StatusView,
  ToolCall,
  UserErased,
  WindowStats,
} from '../../src/admin/contract.ts';
