import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { sandboxRoutes } from './routes.ts';
import { SandboxState } from './state.ts';

describe('sandbox outbox and faults', () => {
  it('lists recorded calls per channel and queues faults that are consumed', async () => {
    const state = new SandboxState();
    const app = Fastify();
    await app.register(sandboxRoutes(state));
    state.record({ channel: 'whatsapp', kind: 'send_text', method: 'POST', path: '/x', body: { a: 1 }, status: 200 });
    state.record({ channel: 'telegram', kind: 'sendMessage', method: 'POST', path: '/y', body: {}, status: 200 });
    const out = (await app.inject({ url: '/sandbox/outbox?channel=whatsapp' })).json() as { calls: { kind: string }[] };
    expect(out.calls.map((c) => c.kind)).toEqual(['send_text']);
    expect((await app.inject({ url: '/sandbox/outbox?channel=fax' })).statusCode).toBe(400);

    const bad = await app.inject({
      method: 'POST',
      url: '/sandbox/faults',
      payload: { channel: 'whatsapp', count: -1 },
    });
    expect(bad.statusCode).toBe(400);
    const ok = await app.inject({
      method: 'POST',
      url: '/sandbox/faults',
      payload: { channel: 'whatsapp', code: 130429, count: 2 },
    });
    expect(ok.statusCode).toBe(201);
    expect(state.takeFault('telegram')).toBeUndefined();
    expect(state.takeFault('whatsapp')?.code).toBe(130429);
    expect(state.takeFault('whatsapp')?.code).toBe(130429);
    expect(state.takeFault('whatsapp')).toBeUndefined();
    await app.close();
  });
});
