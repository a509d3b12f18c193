/**
 * Real WADI processes for reliability tests: a standalone sandbox (so recorded sends survive the
 * death of any WADI process), web and worker processes on one PostgreSQL database, and a driver
 * that sends correctly signed webhooks and remembers which were acknowledged.
 */
import pg from 'pg';
import { SANDBOX_CREDENTIALS } from '../../src/config/config.ts';
import { metaJson, signWhatsapp, telegramTextUpdate, whatsappTextWebhook } from '../../src/sandbox/payloads.ts';
import { freePort, spawnWadi, type WadiProcess, waitFor } from './cli.ts';
import { closeBeforeDrop, isAdminShutdown } from './db.ts';
import { TEST_ADMIN_KEY } from './wadi.ts';

/** One WADI (or sandbox) child process. */
export interface Proc {
  readonly role: 'sandbox' | 'web' | 'worker';
  readonly port: number;
  readonly url: string;
  readonly p: WadiProcess;
}

/** Settings that make crashes recover quickly in tests. */
export const FAST_RECOVERY_ENV = {
  INBOX_LEASE_MS: '3000',
  COALESCE_DEBOUNCE_MS: '50',
  SHUTDOWN_GRACE_MS: '8000',
  LOG_LEVEL: 'warn',
};

/** A cluster on one database. */
export class Cluster {
  readonly procs: Proc[] = [];
  readonly dbUrl: string;
  readonly env: Record<string, string>;
  sandbox?: Proc;
  private readonly pool: pg.Pool;

  constructor(dbUrl: string, env: Record<string, string> = {}) {
    this.dbUrl = dbUrl;
    this.env = env;
    this.pool = new pg.Pool({ connectionString: dbUrl, max: 3 });
    // Without a listener, an idle client's error (57P01 when the database is dropped WITH (FORCE),
    // or a fault proxy cutting it) is an unhandled 'error' event that outlives the test.
    this.pool.on('error', (err) => {
      if (!isAdminShutdown(err)) console.warn(`cluster pool: ${err.message}`);
    });
    this.unregister = closeBeforeDrop(dbUrl, () => this.endPool());
  }

  private readonly unregister: () => void;
  private ended = false;

  private async endPool(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    await this.pool.end();
  }

  /** Starts the standalone sandbox. */
  async startSandbox(): Promise<Proc> {
    const port = await freePort();
    const p = spawnWadi(['sandbox', '--port', String(port)]);
    const proc: Proc = { role: 'sandbox', port, url: `http://127.0.0.1:${port}`, p };
    await waitFor(`${proc.url}/sandbox/outbox?summary=1`, { timeoutMs: 60_000 });
    this.sandbox = proc;
    this.procs.push(proc);
    return proc;
  }

  /** Starts `wadi start --role web|worker`; resolves once ready. */
  async start(role: 'web' | 'worker', env: Record<string, string> = {}): Promise<Proc> {
    return this.startRole(role, env);
  }

  /** Starts `wadi start --role ROLE` (all runs web and workers in one process). */
  async startRole(role: 'all' | 'web' | 'worker', env: Record<string, string> = {}): Promise<Proc> {
    if (!this.sandbox) throw new Error('start the sandbox first');
    const port = await freePort();
    const p = spawnWadi(['start', '--role', role], {
      env: {
        DATABASE_URL: this.dbUrl,
        PORT: String(port),
        HOST: '127.0.0.1',
        WADI_SANDBOX: 'true',
        WADI_SANDBOX_URL: this.sandbox.url,
        TELEGRAM_MODE: 'webhook',
        ADMIN_API_KEY: TEST_ADMIN_KEY,
        ...FAST_RECOVERY_ENV,
        ...this.env,
        ...env,
      },
    });
    const proc: Proc = { role: role === 'all' ? 'web' : role, port, url: `http://127.0.0.1:${port}`, p };
    this.procs.push(proc);
    try {
      await waitFor(`${proc.url}/health/ready`, { timeoutMs: 60_000 });
    } catch (err) {
      throw new Error(`${role} did not become ready: ${(err as Error).message}\n${p.output().slice(-3000)}`);
    }
    return proc;
  }

  /** kill -9. */
  async kill9(proc: Proc): Promise<void> {
    proc.p.child.kill('SIGKILL');
    await proc.p.exited;
    this.procs.splice(this.procs.indexOf(proc), 1);
  }

  /** SIGTERM; resolves with the exit code. */
  async terminate(proc: Proc): Promise<number | null> {
    proc.p.child.kill('SIGTERM');
    const code = await proc.p.exited;
    this.procs.splice(this.procs.indexOf(proc), 1);
    return code;
  }

  /** Raw SQL against the cluster's database. */
  async query<T extends pg.QueryResultRow>(text: string, params: unknown[] = []): Promise<T[]> {
    return (await this.pool.query<T>(text, params)).rows;
  }

  /** Sends to the sandbox counted by kind for one channel. */
  async sandboxSends(channel: 'whatsapp' | 'telegram'): Promise<{ to: string; body: string }[]> {
    if (!this.sandbox) return [];
    const res = await fetch(`${this.sandbox.url}/sandbox/outbox?channel=${channel}`);
    const { calls } = (await res.json()) as {
      calls: { kind: string; body: Record<string, unknown>; status: number }[];
    };
    return calls
      .filter((c) => (c.kind === 'send_text' || c.kind === 'sendMessage') && c.status === 200)
      .map((c) =>
        channel === 'whatsapp'
          ? { to: String(c.body.to), body: String((c.body.text as { body?: string })?.body ?? '') }
          : { to: String(c.body.chat_id), body: String(c.body.text ?? '') },
      );
  }

  /** Waits until every inbox message is finished (done, dead or ignored) or the time runs out. */
  async drained(timeoutMs = 60_000): Promise<{ pending: number }> {
    const deadline = Date.now() + timeoutMs;
    let pending = Number.POSITIVE_INFINITY;
    while (Date.now() < deadline) {
      const [row] = await this.query<{ n: number }>(
        `select (select count(*) from inbox_messages where status in ('pending', 'processing'))
              + (select count(*) from outbox_messages where status in ('pending', 'sending')) as n`,
      );
      pending = Number(row.n);
      if (pending === 0) return { pending };
      await new Promise((r) => setTimeout(r, 250));
    }
    return { pending };
  }

  async stop(): Promise<void> {
    for (const proc of [...this.procs].reverse()) proc.p.child.kill('SIGKILL');
    await Promise.all(this.procs.map((p) => p.p.exited));
    this.procs.length = 0;
    await this.endPool();
    this.unregister();
  }
}

/** A signed WhatsApp text delivery to `url`; resolves with the HTTP status (0 if no answer). */
export async function postWhatsapp(url: string, o: { from: string; id: string; text: string }): Promise<number> {
  const body = metaJson(whatsappTextWebhook(o));
  try {
    const res = await fetch(`${url}/webhooks/whatsapp`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-hub-signature-256': signWhatsapp(body, SANDBOX_CREDENTIALS.whatsappAppSecret),
      },
      body,
      signal: AbortSignal.timeout(15_000),
    });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return 0;
  }
}

/** A Telegram update with the secret header to `url`; resolves with the HTTP status (0 if none). */
export async function postTelegram(
  url: string,
  o: { updateId: number; chatId: number; text: string },
): Promise<number> {
  try {
    const res = await fetch(`${url}/webhooks/telegram`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-telegram-bot-api-secret-token': SANDBOX_CREDENTIALS.telegramWebhookSecret,
      },
      body: JSON.stringify(telegramTextUpdate(o)),
      signal: AbortSignal.timeout(15_000),
    });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return 0;
  }
}

/**
 * Sends `count` WhatsApp messages (one per user, so no coalescing) spread over `urls` with
 * `concurrency` in flight; returns the ids that were acknowledged with 200.
 */
export async function driveWhatsapp(
  urls: () => string[],
  count: number,
  opts: { concurrency?: number; prefix?: string; onSent?: (i: number) => void } = {},
): Promise<{ acked: string[]; statuses: Record<string, number> }> {
  const acked: string[] = [];
  const statuses: Record<string, number> = {};
  let next = 0;
  const prefix = opts.prefix ?? `wamid.rel.${Date.now().toString(36)}`;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const targets = urls();
      const id = `${prefix}.${i}`;
      const status = await postWhatsapp(targets[i % targets.length], {
        from: `3470${String(i).padStart(7, '0')}`,
        id,
        text: `mensaje ${i}`,
      });
      statuses[status] = (statuses[status] ?? 0) + 1;
      if (status === 200) acked.push(id);
      opts.onSent?.(i);
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency ?? 10 }, worker));
  return { acked, statuses };
}
