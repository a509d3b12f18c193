/**
 * `wadi simulate telegram TEXT [--from ID] [--url URL]`: posts a private-chat update with the
 * webhook secret to a running WADI's real webhook route, then waits for the sendMessage the fake
 * Bot API receives for that chat and prints it (registered by simulate.ts).
 */
import { type SimulatedMedia, telegramMediaUpdate, telegramTextUpdate } from '../sandbox/payloads.ts';
import { CliError, configOrExit } from './common.ts';
import { ConversationProbe, sandboxOutboxSeq, waitForSandboxReply } from './sandbox-reply.ts';
import { uploadSimulatedMedia } from './simulate-media.ts';

/** Options of one simulation. */
export interface SimulateTelegramOptions {
  /** The message, or the caption of `media`. */
  readonly text?: string;
  /** A file to send as a voice note, photo or document (sandbox only). */
  readonly media?: { readonly media: SimulatedMedia; readonly file: string };
  /** Telegram user id (= private chat id). */
  readonly from?: string;
  /** Base URL of the running WADI (default http://127.0.0.1:PORT). */
  readonly url?: string;
  readonly timeoutMs?: number;
  readonly secret?: string;
  /** Admin key of the running WADI, to tell a paused conversation (default: this configuration's). */
  readonly adminKey?: string;
  /** Where to print (default stdout). */
  readonly out?: (line: string) => void;
}

/**
 * Sends the update and waits for the reply; throws CliError when there is none in time. When the
 * conversation waits for a person (or an operator paused it), returns promptly with `silent` saying
 * so and an empty `reply`.
 */
export async function simulateTelegram(
  opts: SimulateTelegramOptions,
): Promise<{ updateId: number; reply: string; silent?: string }> {
  const out = opts.out ?? ((l: string) => void process.stdout.write(`${l}\n`));
  let base = opts.url;
  let secret = opts.secret;
  let adminKey = opts.adminKey;
  if (!base || !secret) {
    const config = configOrExit();
    base ??= `http://127.0.0.1:${config.env.PORT}`;
    secret ??= config.telegram?.webhookSecret;
    adminKey ??= config.admin.keys[0];
  }
  base = base.replace(/\/+$/, '');
  if (!secret) throw new CliError('TELEGRAM_WEBHOOK_SECRET is not set; the webhook would refuse the update');
  const from = opts.from ?? '700000001';
  if (!/^\d{1,15}$/.test(from)) throw new CliError(`--from must be a numeric Telegram user id, got "${from}"`);

  if (!opts.media && !opts.text) throw new CliError('give a TEXT, or a file with --voice, --image or --document');
  const after = await sandboxOutboxSeq(base, 'telegram');
  const probe = new ConversationProbe(base, adminKey, 'telegram', from);
  await probe.snapshot();
  const updateId = Date.now() % 2_000_000_000;
  const uploaded = opts.media ? await uploadSimulatedMedia(base, opts.media.media, opts.media.file) : undefined;
  const update = uploaded
    ? telegramMediaUpdate({
        updateId,
        chatId: Number(from),
        media: uploaded.media,
        fileId: uploaded.id,
        fileSize: uploaded.size,
        mimeType: uploaded.mimeType,
        fileName: uploaded.fileName,
        caption: opts.text,
        name: 'Simulated',
      })
    : telegramTextUpdate({ updateId, chatId: Number(from), text: opts.text ?? '', name: 'Simulated' });
  const res = await fetch(`${base}/webhooks/telegram`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': secret },
    body: JSON.stringify(update),
  }).catch(() => {
    throw new CliError(`cannot reach ${base}/webhooks/telegram`);
  });
  if (res.status !== 200) throw new CliError(`the webhook answered ${res.status}: ${await res.text()}`);
  out(`update ${updateId} stored by WADI; waiting for the reply to chat ${from}…`);

  const timeoutMs = opts.timeoutMs ?? 30_000;
  const {
    calls: [sent],
    silent,
  } = await waitForSandboxReply({
    baseUrl: base,
    channel: 'telegram',
    after,
    timeoutMs,
    settleMs: 0,
    match: (c) =>
      c.kind === 'sendMessage' && c.status === 200 && String((c.body as { chat_id?: unknown }).chat_id) === from,
    silent: () => probe.silentReason(),
  });
  if (silent) {
    out(`no reply: ${silent}`);
    return { updateId, reply: '', silent };
  }
  if (!sent) {
    throw new CliError(
      `no reply within ${Math.round(timeoutMs / 1000)} s (the update was stored; check the workers and /admin/logs)`,
    );
  }
  const reply = String((sent.body as { text?: unknown }).text ?? '');
  out(reply);
  return { updateId, reply };
}
