/**
 * `wadi simulate telegram TEXT [--from ID] [--url URL]`: posts a private-chat update with the
 * webhook secret to a running WADI's real webhook route, then waits for the sendMessage the fake
 * Bot API receives for that chat and prints it (registered by simulate.ts).
 */
import { CliError, configOrExit } from './common.ts';

/** Options of one simulation. */
export interface SimulateTelegramOptions {
  readonly text: string;
  /** Telegram user id (= private chat id). */
  readonly from?: string;
  /** Base URL of the running WADI (default http://127.0.0.1:PORT). */
  readonly url?: string;
  readonly timeoutMs?: number;
  readonly secret?: string;
  /** Where to print (default stdout). */
  readonly out?: (line: string) => void;
}

/** Sends the update and waits for the reply; throws CliError when there is none in time. */
export async function simulateTelegram(opts: SimulateTelegramOptions): Promise<{ updateId: number; reply: string }> {
  const out = opts.out ?? ((l: string) => void process.stdout.write(`${l}\n`));
  let base = opts.url;
  let secret = opts.secret;
  if (!base || !secret) {
    const config = configOrExit();
    base ??= `http://127.0.0.1:${config.env.PORT}`;
    secret ??= config.telegram?.webhookSecret;
  }
  base = base.replace(/\/+$/, '');
  if (!secret) throw new CliError('TELEGRAM_WEBHOOK_SECRET is not set; the webhook would refuse the update');
  const from = opts.from ?? '700000001';
  if (!/^\d{1,15}$/.test(from)) throw new CliError(`--from must be a numeric Telegram user id, got "${from}"`);

  const before = await outbox(base, 0).catch(() => {
    throw new CliError(`no sandbox at ${base}/sandbox/outbox: is WADI running there in sandbox mode?`);
  });
  const after = before.reduce((m, c) => Math.max(m, c.seq), 0);
  const updateId = Date.now() % 2_000_000_000;
  const now = Math.floor(Date.now() / 1000);
  const update = {
    update_id: updateId,
    message: {
      message_id: updateId,
      date: now,
      text: opts.text,
      from: { id: Number(from), is_bot: false, first_name: 'Simulated', language_code: 'es' },
      chat: { id: Number(from), type: 'private', first_name: 'Simulated' },
      ...(opts.text.startsWith('/')
        ? { entities: [{ type: 'bot_command', offset: 0, length: opts.text.split(/\s/)[0].length }] }
        : {}),
    },
  };
  const res = await fetch(`${base}/webhooks/telegram`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': secret },
    body: JSON.stringify(update),
  }).catch(() => {
    throw new CliError(`cannot reach ${base}/webhooks/telegram`);
  });
  if (res.status !== 200) throw new CliError(`the webhook answered ${res.status}: ${await res.text()}`);
  out(`update ${updateId} stored by WADI; waiting for the reply to chat ${from}…`);

  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  while (Date.now() < deadline) {
    const calls = await outbox(base, after).catch(() => []);
    const sent = calls.find(
      (c) => c.kind === 'sendMessage' && c.status === 200 && String((c.body as { chat_id?: unknown }).chat_id) === from,
    );
    if (sent) {
      const reply = String((sent.body as { text?: unknown }).text ?? '');
      out(reply);
      return { updateId, reply };
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new CliError(
    `no reply within ${Math.round((opts.timeoutMs ?? 30_000) / 1000)} s (the update was stored; check the workers and /admin/logs)`,
  );
}

interface Call {
  seq: number;
  kind: string;
  status: number;
  body: unknown;
}

async function outbox(base: string, after: number): Promise<Call[]> {
  const res = await fetch(`${base}/sandbox/outbox?channel=telegram&after=${after}`);
  if (!res.ok) throw new Error(`outbox ${res.status}`);
  return ((await res.json()) as { calls: Call[] }).calls;
}
