/**
 * `wadi simulate <channel> TEXT`: sends a correctly authenticated inbound message to a running
 * WADI, the way the platform would, then waits for the reply in the sandbox's outbox and prints it.
 * Each channel is one subcommand; they share `waitForSandboxReply` (sandbox-reply.ts).
 */
import type { Command } from 'commander';
import { metaStringify } from '../channels/whatsapp/meta-json.ts';
import { newInboundWamid, textNotification } from '../channels/whatsapp/payload.ts';
import { signBody } from '../channels/whatsapp/signature.ts';
import { whatsappMediaWebhook } from '../sandbox/payloads.ts';
import { CliError, configOrExit } from './common.ts';
import { ConversationProbe, sandboxOutboxSeq, waitForSandboxReply } from './sandbox-reply.ts';
import { chosenMedia, type MediaFlags, uploadSimulatedMedia } from './simulate-media.ts';
import { simulateTelegram } from './simulate-telegram.ts';

/** Options every simulate subcommand takes. */
export interface SimulateOptions extends MediaFlags {
  readonly from?: string;
  readonly url?: string;
  readonly timeout: string;
}

/** Seconds from --timeout, validated. */
function timeoutMs(v: string): number {
  const s = Number(v);
  if (!Number.isFinite(s) || s <= 0 || s > 3600)
    throw new CliError(`invalid --timeout "${v}": expected 1-3600 seconds`);
  return Math.round(s * 1000);
}

async function simulateWhatsApp(text: string | undefined, opts: SimulateOptions): Promise<void> {
  const config = configOrExit();
  const wa = config.whatsapp;
  if (!wa) throw new CliError('WhatsApp is not configured (set the WHATSAPP_* variables or use the sandbox)');
  const from = opts.from ?? '15550001234';
  if (!/^\d{5,20}$/.test(from)) throw new CliError(`invalid --from "${from}": expected a phone number in digits`);
  const base = (opts.url ?? `http://127.0.0.1:${config.env.PORT}`).replace(/\/+$/, '');
  const wait = timeoutMs(opts.timeout);

  const chosen = chosenMedia(opts);
  if (!chosen && !text) throw new CliError('give a TEXT, or a file with --voice, --image or --document');
  const after = await sandboxOutboxSeq(base, 'whatsapp');
  const probe = new ConversationProbe(base, config.admin.keys[0], 'whatsapp', from);
  await probe.snapshot();
  const uploaded = chosen ? await uploadSimulatedMedia(base, chosen.media, chosen.file) : undefined;
  const { body, wamid } = uploaded
    ? (() => {
        const id = newInboundWamid();
        const b = whatsappMediaWebhook({
          from,
          id,
          media: uploaded.media,
          mediaId: uploaded.id,
          mimeType: uploaded.mimeType,
          sha256: uploaded.sha256,
          caption: text,
          fileName: uploaded.fileName,
          phoneNumberId: wa.phoneNumberId,
        });
        return { body: b, wamid: id };
      })()
    : textNotification({ phoneNumberId: wa.phoneNumberId, from, text: text ?? '' });
  // Meta's serialisation (escaped unicode), signed over exactly the bytes sent.
  const raw = metaStringify(body);
  let res: Response;
  try {
    res = await fetch(`${base}/webhooks/whatsapp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-hub-signature-256': signBody(raw, wa.appSecret) },
      body: raw,
      signal: AbortSignal.timeout(30_000),
    });
  } catch (err) {
    throw new CliError(`cannot reach ${base}: ${(err as Error).message}`);
  }
  if (res.status !== 200) {
    throw new CliError(`the webhook answered HTTP ${res.status}: ${(await res.text()).slice(0, 300)}`);
  }
  const what = uploaded
    ? `[${uploaded.media}: ${uploaded.fileName}, ${uploaded.size} bytes]${text ? ` ${text}` : ''}`
    : text;
  process.stdout.write(`→ ${from}: ${what}\n  stored as ${wamid}\n`);

  const { calls: replies, silent } = await waitForSandboxReply({
    baseUrl: base,
    channel: 'whatsapp',
    after,
    timeoutMs: wait,
    match: (c) => c.kind === 'send_text' && c.status === 200 && (c.body as { to?: string } | null)?.to === from,
    silent: () => probe.silentReason(),
  });
  if (silent) {
    process.stdout.write(`  no reply: ${silent}\n`);
    return;
  }
  if (replies.length === 0) {
    throw new CliError(
      `the message was stored, but no reply came within ${wait / 1000} s ` +
        '(is a worker with the conversation engine running? see `wadi start --role all`)',
    );
  }
  for (const r of replies) {
    const t = (r.body as { text?: { body?: string } }).text?.body ?? '';
    process.stdout.write(`← ${t}\n`);
  }
}

/** Registers `simulate whatsapp` and `simulate telegram`. */
export function registerSimulate(program: Command): void {
  const simulate = program
    .command('simulate')
    .description('send a correctly signed inbound message to a running WADI and print the reply');
  simulate
    .command('whatsapp [text]')
    .description('post a signed WhatsApp message (text, or a voice note, image or document) and print the reply')
    .option('--from <id>', 'sender wa_id (digits)')
    .option('--voice <file>', 'send FILE as a voice note (TEXT is ignored)')
    .option('--image <file>', 'send FILE as an image (TEXT is its caption)')
    .option('--document <file>', 'send FILE as a document (TEXT is its caption)')
    .option('--url <url>', 'base URL of the running WADI (default http://127.0.0.1:PORT)')
    .option('--timeout <seconds>', 'how long to wait for the reply', '30')
    .action((text: string | undefined, opts: SimulateOptions) => simulateWhatsApp(text, opts));
  simulate
    .command('telegram [text]')
    .description('post a Telegram update (text, or a voice note, photo or document) and print the reply')
    .option('--from <id>', 'Telegram user id of the simulated user (= its private chat id)', '700000001')
    .option('--voice <file>', 'send FILE as a voice note (TEXT is ignored)')
    .option('--image <file>', 'send FILE as a photo (TEXT is its caption)')
    .option('--document <file>', 'send FILE as a document (TEXT is its caption)')
    .option('--url <url>', 'base URL of the running WADI (default http://127.0.0.1:PORT)')
    .option('--timeout <seconds>', 'how long to wait for the reply', '30')
    .action(async (text: string | undefined, opts: SimulateOptions) => {
      await simulateTelegram({
        text,
        from: opts.from,
        url: opts.url,
        timeoutMs: timeoutMs(opts.timeout),
        media: chosenMedia(opts),
      });
    });
  for (const cmd of simulate.commands) cmd.exitOverride();
  simulate.exitOverride();
}
