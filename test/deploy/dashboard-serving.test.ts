/** /admin serves the dashboard whenever web/dist holds a build, even one finished after start-up. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dashboardPlugin } from '../../src/admin/dashboard.ts';

describe('the dashboard routes', () => {
  let dist: string;
  let app: FastifyInstance;
  beforeAll(async () => {
    dist = mkdtempSync(path.join(tmpdir(), 'wadi-dist-'));
    rmSync(dist, { recursive: true });
    app = Fastify();
    await app.register(dashboardPlugin(`${dist}/`));
    await app.ready();
  });
  afterAll(async () => {
    await app.close();
    rmSync(dist, { recursive: true, force: true });
  });

  it('explains that it is not built, then serves the build that appears later without a restart', async () => {
    const before = await app.inject({ method: 'GET', url: '/admin' });
    expect(before.statusCode).toBe(503);
    expect(before.body).toContain('npm run build:web');
    expect((await app.inject({ method: 'GET', url: '/admin/assets/index-abc.js' })).statusCode).toBe(404);

    mkdirSync(path.join(dist, 'assets'), { recursive: true });
    writeFileSync(path.join(dist, 'index.html'), '<!doctype html><script src="/admin/assets/index-abc.js"></script>');
    writeFileSync(path.join(dist, 'assets', 'index-abc.js'), 'console.log("wadi")');

    const page = await app.inject({ method: 'GET', url: '/admin' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toContain('text/html');
    expect(page.headers['cache-control']).toBe('no-cache');
    const asset = await app.inject({ method: 'GET', url: '/admin/assets/index-abc.js' });
    expect(asset.statusCode).toBe(200);
    expect(asset.headers['content-type']).toContain('javascript');
    expect(asset.headers['cache-control']).toContain('immutable');
    expect(asset.body).toBe('console.log("wadi")');
  });
});
