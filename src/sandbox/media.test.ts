import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SANDBOX_CREDENTIALS } from '../config/config.ts';
import { sandboxPlugin } from './module.ts';
import { SandboxState } from './state.ts';

const auth = { authorization: `Bearer ${SANDBOX_CREDENTIALS.whatsappAccessToken}` };

describe('sandbox media store and the fake Graph API media routes', () => {
  const state = new SandboxState();
  const app = Fastify();
  beforeAll(async () => {
    await app.register(sandboxPlugin(state));
    await app.ready();
  });
  afterAll(() => app.close());

  it('refuses empty bodies and bad parameters, changing nothing', async () => {
    for (const url of [
      '/sandbox/media?mime_type=image/png',
      '/sandbox/media?mime_type=not-a-type',
      '/sandbox/media?mime_type=image/png&url_ttl_ms=-1',
      '/sandbox/media?mime_type=image/png&url_ttl_ms=1.5',
    ]) {
      const body = url.endsWith('image/png') ? Buffer.alloc(0) : Buffer.from('x');
      const r = await app.inject({ method: 'POST', url, payload: body, headers: { 'content-type': 'image/png' } });
      expect(r.statusCode, url).toBe(400);
    }
    const unknown = await app.inject({ method: 'GET', url: '/sandbox/graph/v24.0/123', headers: auth });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toMatchObject({ error: { code: 100 } });
  });

  it('serves by id with the token only; a tampered or expired link is refused', async () => {
    const up = await app.inject({
      method: 'POST',
      url: '/sandbox/media?mime_type=audio/ogg&filename=n.ogg',
      payload: Buffer.from([0, 255, 1]),
      headers: { 'content-type': 'application/json' },
    });
    expect(up.statusCode).toBe(201);
    const { id, sha256 } = up.json() as { id: string; sha256: string };
    expect((await app.inject({ method: 'GET', url: `/sandbox/graph/v24.0/${id}` })).statusCode).toBe(401);
    const info = (await app.inject({ method: 'GET', url: `/sandbox/graph/v24.0/${id}`, headers: auth })).json() as {
      url: string;
      sha256: string;
      file_size: number;
      mime_type: string;
    };
    expect(info).toMatchObject({ sha256, file_size: 3, mime_type: 'audio/ogg' });
    const path = new URL(info.url).pathname + new URL(info.url).search;
    const ok = await app.inject({ method: 'GET', url: path, headers: auth });
    expect(ok.statusCode).toBe(200);
    expect(ok.rawPayload.equals(Buffer.from([0, 255, 1]))).toBe(true);
    expect((await app.inject({ method: 'GET', url: path })).statusCode).toBe(401);
    const later = path.replace(/exp=(\d+)/, (_m, e) => `exp=${Number(e) + 3_600_000}`);
    expect((await app.inject({ method: 'GET', url: later, headers: auth })).statusCode).toBe(404);
    const deleted = await app.inject({ method: 'DELETE', url: `/sandbox/media/${id}` });
    expect(deleted.json()).toEqual({ deleted: true });
    expect((await app.inject({ method: 'GET', url: path, headers: auth })).statusCode).toBe(404);
  });
});
