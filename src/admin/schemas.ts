/**
 * JSON schemas shared by the admin routes. They validate input, shape output (fast-json-stringify
 * drops undeclared fields) and become the OpenAPI document Retool and Appsmith read.
 */

type Schema = Record<string, unknown>;

/** A string that may be null. */
export const nullableString: Schema = { type: 'string', nullable: true };
/** An ISO 8601 instant. */
export const instant: Schema = { type: 'string', format: 'date-time' };
/** An ISO 8601 instant that may be null. */
export const nullableInstant: Schema = { type: 'string', format: 'date-time', nullable: true };

/** `{error: {code, message}}`. */
export const errorSchema: Schema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: { code: { type: 'string' }, message: { type: 'string' } },
    },
  },
};

/** Adds the errors every admin route can answer to a route's responses. */
export function responses(ok: Record<number, Schema>, extra: number[] = []): Record<number, Schema> {
  const r: Record<number, Schema> = { ...ok };
  for (const code of [400, 401, 429, ...extra]) r[code] = errorSchema;
  return r;
}

/** `:id` path parameter: a positive integer. */
export const idParams: Schema = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'integer', minimum: 1 } },
};

/** A conversation (session). */
export const sessionSchema: Schema = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    channel: { type: 'string', enum: ['whatsapp', 'telegram'] },
    chatId: { type: 'string' },
    userId: nullableString,
    displayName: nullableString,
    chatType: { type: 'string' },
    firstSeenAt: instant,
    lastSeenAt: instant,
    lastInboundAt: nullableInstant,
    messagesIn: { type: 'integer' },
    messagesOut: { type: 'integer' },
    blocked: { type: 'boolean' },
    paused: { type: 'boolean' },
    contextResetAt: nullableInstant,
    active: { type: 'boolean', description: `last message within the last 30 minutes` },
  },
};

/** One message with its stage timeline. */
export const messageSchema: Schema = {
  type: 'object',
  properties: {
    direction: { type: 'string', enum: ['in', 'out'] },
    id: { type: 'integer' },
    at: instant,
    kind: { type: 'string' },
    text: nullableString,
    status: { type: 'string' },
    attempts: { type: 'integer' },
    timeline: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          stage: {
            type: 'string',
            description: 'in: received, claimed, llm_start, llm_end, done; out: created, sent, delivered, read, failed',
          },
          at: instant,
        },
      },
    },
    failureReason: nullableString,
    relatedId: { type: 'integer', nullable: true },
    part: { type: 'integer', nullable: true },
  },
};

/** Counts of outbound messages by status. */
export const outcomeCounts: Schema = {
  type: 'object',
  additionalProperties: { type: 'integer' },
  properties: {
    pending: { type: 'integer' },
    sending: { type: 'integer' },
    sent: { type: 'integer' },
    delivered: { type: 'integer' },
    read: { type: 'integer' },
    failed: { type: 'integer' },
  },
};

/** Inbox backlog and outbound outcomes. */
export const queuesSchema: Schema = {
  type: 'object',
  properties: {
    inbox: {
      type: 'object',
      properties: {
        pending: { type: 'integer' },
        processing: { type: 'integer' },
        dead: { type: 'integer' },
        oldestPendingSeconds: { type: 'integer', nullable: true },
      },
    },
    outbound: { type: 'object', properties: { lastHour: outcomeCounts, last24h: outcomeCounts } },
  },
};

const windowStats: Schema = {
  type: 'object',
  properties: {
    windowSeconds: { type: 'integer' },
    requests: { type: 'integer' },
    rps: { type: 'number' },
    p95Ms: { type: 'number', nullable: true },
    errorRate: { type: 'number' },
  },
};

/** /admin/stats. */
export const statsSchema: Schema = {
  type: 'object',
  properties: {
    windows: { type: 'object', properties: { '1m': windowStats, '5m': windowStats, '15m': windowStats } },
    series: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          t: { type: 'number', description: 'minute start, Unix ms' },
          rps: { type: 'number' },
          p95Ms: { type: 'number', nullable: true },
          errorRate: { type: 'number' },
        },
      },
    },
    ...(queuesSchema.properties as Schema),
  },
};

/** An alert. */
export const alertSchema: Schema = {
  type: 'object',
  properties: {
    alert: { type: 'string' },
    state: { type: 'string', enum: ['pending', 'firing', 'resolved'] },
    value: { type: 'string' },
    threshold: { type: 'string' },
    summary: { type: 'string' },
    startedAt: { type: 'string' },
    resolvedAt: { type: 'string' },
    runbook: { type: 'string' },
  },
};
