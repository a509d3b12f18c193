import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { SANDBOX_CREDENTIALS } from '../config/config.ts';
import { graphApiFake } from './graph-api.ts';
import { sandboxRoutes } from './routes.ts';
import { SandboxState } from './state.ts';

const URL = `/sandbox/graph/v24.0/${SANDBOX_CREDENTIALS.whatsappPhoneNumberId}/messages`;
const auth = { authorization: `Bearer ${SANDBOX_CREDENTIALS.whatsappAccessToken}` };

async function fake(state = new SandboxState()) {
  const app = Fastify();
  await app.register(graphApiFake(state));
  await app.register(sandboxRoutes(state));
  return { app, state };
}

const template = (t: Record<string, unknown>) => ({
  messaging_product: 'whatsapp',
  recipient_type: 'individual',
  to: '34600000009',
  type: 'template',
  template: t,
});

describe('fake Graph API: templates and the 24 h window', () => {
  it('accepts well-formed template sends and refuses malformed ones like Meta', async () => {
    const { app, state } = await fake();
    const ok = await app.inject({
      method: 'POST',
      url: URL,
      headers: auth,
      payload: template({
        name: 'wadi_agent_followup',
        language: { code: 'es' },
        components: [{ type: 'body', parameters: [{ type: 'text', text: 'Ana' }] }],
      }),
    });
    expect(ok.statusCode).toBe(200);
    expect(ok.json().messages[0].id).toMatch(/^wamid\./);
    expect(state.calls('whatsapp').at(-1)?.kind).toBe('send_template');

    const cases: [Record<string, unknown>, number][] = [
      [{ language: { code: 'es' } }, 100],
      [{ name: 'Bad Name', language: { code: 'es' } }, 100],
      [{ name: 'ok', language: 'es' }, 100],
      [
        {
          name: 'ok',
          language: { code: 'es' },
          components: [{ type: 'body', parameters: [{ type: 'text', text: 'a\nb' }] }],
        },
        132018,
      ],
      [
        {
          name: 'ok',
          language: { code: 'es' },
          components: [{ type: 'body', parameters: [{ type: 'text', text: 'x'.repeat(1025) }] }],
        },
        132005,
      ],
    ];
    for (const [t, code] of cases) {
      const res = await app.inject({ method: 'POST', url: URL, headers: auth, payload: template(t) });
      expect(res.statusCode, JSON.stringify(t)).toBe(400);
      expect(res.json().error.code).toBe(code);
    }
    await app.close();
  });

  it('knows the approved templates when WHATSAPP_TEMPLATES_FILE is configured', async () => {
    const state = new SandboxState();
    state.approvedTemplates = {
      operator: { name: 'wadi_agent_followup', language: 'es', languages: { en: 'en_US' }, parameters: ['{{text}}'] },
    };
    const { app } = await fake(state);
    const send = (name: string, code: string, params: string[]) =>
      app.inject({
        method: 'POST',
        url: URL,
        headers: auth,
        payload: template({
          name,
          language: { code },
          components: [{ type: 'body', parameters: params.map((text) => ({ type: 'text', text })) }],
        }),
      });
    expect((await send('wadi_agent_followup', 'en_US', ['hola'])).statusCode).toBe(200);
    expect((await send('wadi_agent_followup', 'fr', ['hola'])).json().error.code).toBe(132001);
    expect((await send('unknown_template', 'es', ['hola'])).json().error.code).toBe(132001);
    expect((await send('wadi_agent_followup', 'es', [])).json().error.code).toBe(132000);
    await app.close();
  });

  it('answers 131047 to free-form sends once the user last wrote more than 24 h ago', async () => {
    const { app } = await fake();
    const text = { messaging_product: 'whatsapp', to: '34600000010', type: 'text', text: { body: 'hola' } };
    // A user the fake never heard of: inside the window.
    expect((await app.inject({ method: 'POST', url: URL, headers: auth, payload: text })).statusCode).toBe(200);
    const old = new Date(Date.now() - 25 * 3600_000).toISOString();
    const set = await app.inject({
      method: 'POST',
      url: '/sandbox/whatsapp/customer-window',
      payload: { wa_id: '34600000010', last_message_at: old },
    });
    expect(set.json()).toMatchObject({ open: false });
    const refused = await app.inject({ method: 'POST', url: URL, headers: auth, payload: text });
    expect(refused.statusCode).toBe(400);
    expect(refused.json().error).toMatchObject({ code: 131047, message: '(#131047) Re-engagement message' });
    // A template still goes out; a new message from the user reopens the window.
    const tpl = template({ name: 'x', language: { code: 'es' } });
    expect(
      (await app.inject({ method: 'POST', url: URL, headers: auth, payload: { ...tpl, to: '34600000010' } }))
        .statusCode,
    ).toBe(200);
    await app.inject({ method: 'POST', url: '/sandbox/whatsapp/customer-window', payload: { wa_id: '34600000010' } });
    expect((await app.inject({ method: 'POST', url: URL, headers: auth, payload: text })).statusCode).toBe(200);
    expect(
      (await app.inject({ method: 'POST', url: '/sandbox/whatsapp/customer-window', payload: { wa_id: 'x' } }))
        .statusCode,
    ).toBe(400);
    await app.close();
  });
});
