/**
 * The sandbox's own routes: GET /sandbox/outbox (the calls the fakes received, as far as the
 * bounded log keeps them; `count=1` answers only how many) and POST /sandbox/faults (make the
 * next calls of a fake fail). Registered only in sandbox mode.
 */
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { errors } from '../http/errors.ts';
import { latencyFromBody, latencySchema, latencyToBody } from './latency.ts';
import { CONTEXT_LENGTH_FLAVORS, type SandboxState } from './state.ts';

const channel = z.enum(['whatsapp', 'telegram', 'llm']);
const faultSchema = z.object({
  channel,
  status: z.number().int().min(100).max(599).optional(),
  code: z.number().int().optional(),
  retry_after: z.number().min(0).max(3600).optional(),
  count: z.number().int().min(1).max(100_000).default(1),
  delay_ms: z.number().int().min(0).max(600_000).optional(),
  kind: z.string().max(64).optional(),
  text: z.string().max(10_000).optional(),
  description: z.string().min(1).max(500).optional(),
  context_length: z.enum(CONTEXT_LENGTH_FLAVORS).optional(),
});

const deliveryStatusesSchema = z.strictObject({
  enabled: z.boolean().optional(),
  sent_ms: z.number().int().min(0).max(600_000).optional(),
  delivered_ms: z.number().int().min(0).max(600_000).optional(),
  read_ms: z.number().int().min(0).max(600_000).optional(),
});

const windowSchema = z.strictObject({
  wa_id: z.string().regex(/^\+?\d{5,20}$/),
  last_message_at: z.iso.datetime({ offset: true }).optional(),
});

/** Routes for inspecting and steering the fakes. */
export function sandboxRoutes(state: SandboxState): FastifyPluginAsync {
  return async (app) => {
    app.get('/sandbox/outbox', async (req) => {
      const q = req.query as { channel?: string; after?: string; summary?: string; count?: string };
      if (q.summary === '1' || q.summary === 'true') return { summary: state.summary() };
      const ch = q.channel === undefined ? undefined : channel.safeParse(q.channel);
      if (ch && !ch.success) throw errors.badRequest('channel must be whatsapp, telegram or llm');
      const after = q.after ? Number(q.after) : 0;
      if (!Number.isInteger(after) || after < 0) throw errors.badRequest('after must be a non-negative integer');
      const calls = state.calls(ch?.data, after);
      if (q.count === '1' || q.count === 'true') return { count: calls.length };
      return { calls };
    });
    app.post('/sandbox/faults', async (req, reply) => {
      const parsed = faultSchema.safeParse(req.body);
      if (!parsed.success)
        throw errors.badRequest(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
      state.addFault(parsed.data);
      reply.status(201);
      return { queued: parsed.data, pending: state.pendingFaults().length };
    });
    // Tells the fake Graph API when a WhatsApp user last wrote (its 24 h window check); at omitted = now.
    app.post('/sandbox/whatsapp/customer-window', async (req) => {
      const parsed = windowSchema.safeParse(req.body);
      if (!parsed.success)
        throw errors.badRequest(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
      const at = parsed.data.last_message_at ? Date.parse(parsed.data.last_message_at) : Date.now();
      state.customerWindows.noteInbound(parsed.data.wa_id, at);
      return {
        wa_id: parsed.data.wa_id,
        last_message_at: new Date(at).toISOString(),
        open: !state.customerWindows.closed(parsed.data.wa_id),
      };
    });
    // The fake Graph API's delivery-status webhooks (sent → delivered → read after each accepted send).
    const statusesBody = () => {
      const r = state.deliveryReports;
      return r
        ? {
            available: true,
            enabled: r.enabled,
            sent_ms: r.delays.sent,
            delivered_ms: r.delays.delivered,
            read_ms: r.delays.read,
          }
        : { available: false, enabled: false };
    };
    app.get('/sandbox/whatsapp/delivery-statuses', async () => statusesBody());
    app.put('/sandbox/whatsapp/delivery-statuses', async (req) => {
      const r = state.deliveryReports;
      if (!r) throw errors.badRequest('delivery statuses need a WhatsApp webhook to report to (WADI in sandbox mode)');
      const parsed = deliveryStatusesSchema.safeParse(req.body);
      if (!parsed.success)
        throw errors.badRequest(
          parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '),
        );
      const b = parsed.data;
      const delays = {
        sent: b.sent_ms ?? r.delays.sent,
        delivered: b.delivered_ms ?? r.delays.delivered,
        read: b.read_ms ?? r.delays.read,
      };
      if (!(delays.sent <= delays.delivered && delays.delivered <= delays.read))
        throw errors.badRequest('delays must not decrease: sent_ms <= delivered_ms <= read_ms');
      r.delays = delays;
      if (b.enabled !== undefined) r.enabled = b.enabled;
      return statusesBody();
    });
    // The fake LLM's latency model: instant, or log-normal by median and p95 (see latency.ts).
    app.get('/sandbox/llm/latency', async () => latencyToBody(state.llmLatency));
    app.put('/sandbox/llm/latency', async (req) => {
      const parsed = latencySchema.safeParse(req.body);
      if (!parsed.success)
        throw errors.badRequest(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
      state.llmLatency = latencyFromBody(parsed.data);
      return latencyToBody(state.llmLatency);
    });
    app.delete('/sandbox/faults', async () => {
      state.reset();
      return { reset: true };
    });
  };
}
