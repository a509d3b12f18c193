import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { verifySignature } from '../../src/channels/whatsapp/signature.ts';
import { SANDBOX_CREDENTIALS } from '../../src/config/config.ts';
import { freePort, runWadi, spawnWadi, tempDir, waitFor } from '../helpers/cli.ts';
import { createPostgresDatabase, postgresUrl } from '../helpers/db.ts';

describe('wadi CLI', () => {
  it('shows help for every command and exits 0', async () => {
    const r = await runWadi(['--help']);
    expect(r.code).toBe(0);
    for (const cmd of ['start', 'migrate', 'config']) expect(r.stdout).toContain(cmd);
    expect((await runWadi(['start', '--help'])).stdout).toContain('--role');
  });

  it('rejects an unknown command or a bad argument with one line and exit 1', async () => {
    const r = await runWadi(['frobnicate']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("unknown command 'frobnicate'");
    const role = await runWadi(['start', '--role', 'boss']);
    expect(role.code).toBe(1);
    expect(role.stderr).toContain("'boss' is invalid");
    const mig = await runWadi(['migrate', 'sideways']);
    expect(mig.code).toBe(1);
    expect(mig.stderr).toContain('unknown migrate action "sideways"');
  });

  it('refuses to start in production with nothing configured, listing each problem', async () => {
    const cwd = tempDir();
    writeFileSync(path.join(cwd, '.env'), 'X=1\n');
    const r = await runWadi(['start'], { env: { NODE_ENV: 'production' }, cwd });
    expect(r.code).toBe(1);
    for (const v of ['ADMIN_API_KEY', 'CORS_ORIGINS', 'DATABASE_URL', 'OPENAI_API_KEY', '.env']) {
      expect(r.stderr).toContain(`✗ ${v}`);
    }
    expect(r.stderr).not.toContain('    at '); // no stack trace
  });

  it('config check prints the effective config with secrets redacted', async () => {
    const secret = 'very-secret-openai-key-1234567890';
    const r = await runWadi(['config', 'check'], {
      env: { OPENAI_API_KEY: secret, ADMIN_API_KEY: 'x'.repeat(40), PORT: '4000' },
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('configuration is valid');
    expect(r.stdout).toContain('PORT=4000');
    expect(r.stdout).toContain('OPENAI_API_KEY=[redacted]');
    expect(r.stdout).not.toContain(secret);
    expect(r.stdout).not.toContain('x'.repeat(40));
    const bad = await runWadi(['config', 'check'], { env: { PORT: 'x' } });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('✗ PORT');
  });

  it.runIf(postgresUrl())('migrate status exits 1 while pending, migrate applies, then status exits 0', async () => {
    const db = await createPostgresDatabase();
    try {
      const env = { DATABASE_URL: db.url };
      const before = await runWadi(['migrate', 'status'], { env });
      expect(before.code).toBe(1);
      expect(before.stdout).toContain('PENDING');
      const apply = await runWadi(['migrate'], { env });
      expect(apply.code).toBe(0);
      expect(apply.stdout).toMatch(/applied \d+ migration/);
      const after = await runWadi(['migrate', 'status'], { env });
      expect(after.code).toBe(0);
      expect(after.stdout).toContain('0 pending');
    } finally {
      await db.drop();
    }
  });

  it.runIf(postgresUrl())('starts on PostgreSQL, becomes ready, and exits 0 on SIGTERM', async () => {
    const db = await createPostgresDatabase();
    const port = await freePort();
    const p = spawnWadi(['start'], { env: { DATABASE_URL: db.url, PORT: String(port) } });
    try {
      await waitFor(`http://127.0.0.1:${port}/health/ready`, { timeoutMs: 30_000 });
      expect(p.output()).toContain(`http://localhost:${port}/admin`);
      p.child.kill('SIGTERM');
      expect(await p.exited).toBe(0);
    } finally {
      p.child.kill('SIGKILL');
      await db.drop();
    }
  });

  it('starts on embedded PGlite with no services and refuses a second process on the same data dir', async () => {
    const cwd = tempDir();
    const port = await freePort();
    const p = spawnWadi(['start'], { cwd, env: { PORT: String(port) } });
    try {
      await waitFor(`http://127.0.0.1:${port}/health/ready`, { timeoutMs: 45_000 });
      // The banner is printed once every service has started, a moment after readiness.
      for (let i = 0; i < 100 && !/Admin key:/.test(p.output()); i++) await new Promise((r) => setTimeout(r, 100));
      expect(p.output()).toMatch(/Admin key:\s+\S{32,}/);
      const second = await runWadi(['start'], { cwd, env: { PORT: String(await freePort()) } });
      expect(second.code).toBe(1);
      expect(second.stderr).toMatch(/in use by process \d+/);
      p.child.kill('SIGTERM');
      expect(await p.exited).toBe(0);
    } finally {
      p.child.kill('SIGKILL');
    }
  }, 60_000);

  it('the standalone sandbox reports accepted sends as signed sent → delivered → read webhooks', async () => {
    const received: { status: string; id: string; valid: boolean }[] = [];
    const hook = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks);
        const valid = verifySignature(raw, req.headers['x-hub-signature-256'], 'the-apps-own-secret');
        const st = JSON.parse(raw.toString('utf8')).entry[0].changes[0].value.statuses[0];
        received.push({ status: st.status, id: st.id, valid });
        res.writeHead(200).end('{}');
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    const hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/webhooks/whatsapp`;
    const port = await freePort();
    const p = spawnWadi([
      'sandbox',
      '--port',
      String(port),
      '--whatsapp-webhook-url',
      hookUrl,
      '--whatsapp-app-secret',
      'the-apps-own-secret',
    ]);
    try {
      await waitFor(`http://127.0.0.1:${port}/sandbox/outbox`, { timeoutMs: 30_000 });
      expect(p.output()).toContain(`sent → delivered → read to ${hookUrl}`);
      const send = await fetch(
        `http://127.0.0.1:${port}/sandbox/graph/v21.0/${SANDBOX_CREDENTIALS.whatsappPhoneNumberId}/messages`,
        {
          method: 'POST',
          headers: {
            authorization: `Bearer ${SANDBOX_CREDENTIALS.whatsappAccessToken}`,
            'content-type': 'application/json',
          },
          body: JSON.stringify({
            messaging_product: 'whatsapp',
            to: '34600111222',
            type: 'text',
            text: { body: 'hola' },
          }),
        },
      );
      const wamid = ((await send.json()) as { messages: { id: string }[] }).messages[0].id;
      await expect.poll(() => received.length, { timeout: 15_000 }).toBe(3);
      expect(received).toEqual([
        { status: 'sent', id: wamid, valid: true },
        { status: 'delivered', id: wamid, valid: true },
        { status: 'read', id: wamid, valid: true },
      ]);
      p.child.kill('SIGTERM');
      expect(await p.exited).toBe(0);
    } finally {
      p.child.kill('SIGKILL');
      hook.close();
    }
  });

  it('the standalone sandbox refuses a webhook URL that is not http(s)', async () => {
    const r = await runWadi(['sandbox', '--port', String(await freePort()), '--whatsapp-webhook-url', 'ftp://x']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('--whatsapp-webhook-url must be an http(s) URL');
  });

  it('runs the sandbox standalone and answers /sandbox/outbox', async () => {
    const port = await freePort();
    const p = spawnWadi(['sandbox', '--port', String(port)]);
    try {
      const res = await waitFor(`http://127.0.0.1:${port}/sandbox/outbox`, { timeoutMs: 30_000 });
      expect(await res.json()).toEqual({ calls: [] });
      expect(p.output()).toContain(`WADI_SANDBOX_URL=http://127.0.0.1:${port}`);
      p.child.kill('SIGTERM');
      expect(await p.exited).toBe(0);
    } finally {
      p.child.kill('SIGKILL');
    }
  });
});
