/**
 * The media pieces over real HTTP against the sandbox fakes (Graph API media, Bot API files,
 * OpenAI-compatible transcriptions) on 127.0.0.1.
 */
import { createHash } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { makeDocx, makePdf, uploadMedia } from '../../test/helpers/media-fixtures.ts';
import type { InboundEvent } from '../channels/types.ts';
import { SANDBOX_CREDENTIALS } from '../config/config.ts';
import { registry } from '../observability/metrics/metrics.ts';
import { sandboxPlugin } from '../sandbox/module.ts';
import { SandboxState } from '../sandbox/state.ts';
import { describeContacts, describeLocation } from './describe.ts';
import { Downloader, download } from './download.ts';
import { MediaError } from './errors.ts';
import { extractDocument } from './extract.ts';
import { MediaService } from './service.ts';
import { TelegramMediaClient } from './telegram.ts';
import { OpenAiTranscriber } from './transcribe.ts';
import { WhatsAppMediaClient } from './whatsapp.ts';

let app: FastifyInstance;
let base = '';
const state = new SandboxState();

beforeAll(async () => {
  app = Fastify();
  await app.register(sandboxPlugin(state));
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address() as { port: number };
  base = `http://127.0.0.1:${addr.port}`;
});
afterAll(() => app.close());
beforeEach(() => state.reset());

const whatsapp = (downloader = new Downloader(4), token: string = SANDBOX_CREDENTIALS.whatsappAccessToken) =>
  new WhatsAppMediaClient(
    { baseUrl: () => `${base}/sandbox/graph`, graphVersion: 'v24.0', accessToken: token, timeoutMs: 10_000 },
    downloader,
  );
const telegram = (token: string = SANDBOX_CREDENTIALS.telegramBotToken, root?: string) =>
  new TelegramMediaClient(
    { apiRoot: () => root ?? `${base}/sandbox/telegram`, botToken: token, timeoutMs: 10_000 },
    new Downloader(4),
  );
const transcriber = () =>
  new OpenAiTranscriber({
    apiKey: 'sandbox',
    baseUrl: () => `${base}/sandbox/openai/v1`,
    model: 'whisper-test',
    timeoutMs: 10_000,
    maxRetries: 1,
  });

async function failure(p: Promise<unknown>): Promise<MediaError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(MediaError);
  return err as MediaError;
}

function downloads(channel: 'whatsapp' | 'telegram') {
  return state.calls(channel).filter((c) => c.kind === 'media_download' || c.kind === 'file_download');
}

describe('WhatsApp two-step media fetch', () => {
  it('looks the id up, downloads the bytes with the token and checks the sha256', async () => {
    const bytes = Buffer.from('OggS fake voice note ☃ \u0000 binary');
    const { id } = await uploadMedia(base, bytes, { mimeType: 'audio/ogg; codecs=opus' });
    const got = await whatsapp().fetch(id, 1024 * 1024);
    expect(got.bytes.equals(bytes)).toBe(true);
    expect(got.mimeType).toBe('audio/ogg; codecs=opus');
    expect(got.announcedSize).toBe(bytes.length);
    expect(state.calls('whatsapp').map((c) => [c.kind, c.status])).toEqual([
      ['media_info', 200],
      ['media_download', 200],
    ]);
  });

  it('asks for a fresh URL on every fetch and once more when the link expired, then reports it gone', async () => {
    const { id } = await uploadMedia(base, Buffer.from('abc'), { mimeType: 'image/jpeg' });
    await whatsapp().fetch(id, 100);
    await whatsapp().fetch(id, 100);
    expect(state.calls('whatsapp').filter((c) => c.kind === 'media_info')).toHaveLength(2);

    state.reset();
    const expired = await uploadMedia(base, Buffer.from('abc'), { mimeType: 'image/jpeg', urlTtlMs: 0 });
    const err = await failure(whatsapp().fetch(expired.id, 100));
    expect(err.reason).toBe('gone');
    expect(state.calls('whatsapp').map((c) => [c.kind, c.status])).toEqual([
      ['media_info', 200],
      ['media_download', 404],
      ['media_info', 200],
      ['media_download', 404],
    ]);
  });

  it('an unknown id is gone; a refused token is rejected and never appears in the error', async () => {
    expect((await failure(whatsapp().fetch('123456789', 100))).reason).toBe('gone');
    const { id } = await uploadMedia(base, Buffer.from('abc'), { mimeType: 'image/jpeg' });
    const secret = 'EAAG-very-secret-token';
    const err = await failure(whatsapp(new Downloader(1), secret).fetch(id, 100));
    expect(err.reason).toBe('rejected');
    expect(`${err.message} ${err.stack}`).not.toContain(secret);
  });

  it('a digest that does not match is an integrity failure', async () => {
    const { id } = await uploadMedia(base, Buffer.from('real bytes'), {
      mimeType: 'image/png',
      announceSha256: createHash('sha256').update('other bytes').digest('hex'),
    });
    expect((await failure(whatsapp().fetch(id, 100))).reason).toBe('integrity');
  });

  it('a Graph API 5xx or 429 is unavailable (try later), with Retry-After when given', async () => {
    const { id } = await uploadMedia(base, Buffer.from('abc'), { mimeType: 'image/jpeg' });
    state.addFault({ channel: 'whatsapp', kind: 'media_info', status: 500, count: 1 });
    expect((await failure(whatsapp().fetch(id, 100))).reason).toBe('unavailable');
    state.addFault({ channel: 'whatsapp', kind: 'media_info', code: 130429, status: 429, retry_after: 7, count: 1 });
    const err = await failure(whatsapp().fetch(id, 100));
    expect(err.reason).toBe('unavailable');
    expect(err.retryAfterMs).toBe(7000);
  });

  it('an announced size over the cap is refused before downloading anything', async () => {
    const { id } = await uploadMedia(base, Buffer.alloc(5000, 1), { mimeType: 'image/jpeg' });
    const err = await failure(whatsapp().fetch(id, 4096));
    expect(err.reason).toBe('too_large');
    expect(err.limit).toBe(4096);
    expect(downloads('whatsapp')).toHaveLength(0);
  });

  it('a body of unknown size stops streaming at the cap: bytes read stay near the cap, the rest is never sent', async () => {
    const total = 16 * 1024 * 1024;
    const cap = 256 * 1024;
    const { id } = await uploadMedia(base, Buffer.alloc(total, 7), { mimeType: 'audio/ogg', hideSize: true });
    const err = await failure(whatsapp().fetch(id, cap));
    expect(err.reason).toBe('too_large');
    // Read until the first chunk past the cap (chunks are 64 KiB), not a byte of buffering more.
    expect(err.bytesRead).toBeGreaterThan(cap);
    expect(err.bytesRead).toBeLessThanOrEqual(cap + 64 * 1024);
    await expect.poll(() => downloads('whatsapp').length).toBe(1);
    const sent = (downloads('whatsapp')[0].body as { bytesSent: number }).bytesSent;
    // The server stopped producing once the client hung up (socket buffers hold a few MB at most).
    expect(sent).toBeLessThan(total / 2);
  });

  it('bounds the downloads in flight per process', async () => {
    const downloader = new Downloader(2);
    const client = whatsapp(downloader);
    const ids = await Promise.all(
      [1, 2, 3, 4, 5].map(async (n) => (await uploadMedia(base, Buffer.from(`f${n}`), { mimeType: 'image/jpeg' })).id),
    );
    state.addFault({ channel: 'whatsapp', kind: 'media_download', delay_ms: 1500, count: 5 });
    const all = Promise.all(ids.map((id) => client.fetch(id, 100)));
    await expect.poll(() => state.calls('whatsapp').filter((c) => c.kind === 'media_info').length).toBe(2);
    await new Promise((r) => setTimeout(r, 500));
    // Two in flight (waiting on the slow download); three waiting for a slot, not yet asked.
    expect(state.calls('whatsapp').filter((c) => c.kind === 'media_info')).toHaveLength(2);
    expect(downloader.busy).toBe(5);
    const got = await all;
    expect(got.map((g) => g.bytes.toString())).toEqual(['f1', 'f2', 'f3', 'f4', 'f5']);
    expect(downloader.busy).toBe(0);
  });
});

describe('Telegram getFile and file download', () => {
  it('downloads a file by file_id', async () => {
    const bytes = Buffer.from([0, 1, 2, 255, 254]);
    const { id } = await uploadMedia(base, bytes, { mimeType: 'audio/ogg' });
    const got = await telegram().fetch(id, 1000);
    expect(got.bytes.equals(bytes)).toBe(true);
    expect(state.calls('telegram').map((c) => [c.kind, c.status])).toEqual([
      ['getFile', 200],
      ['file_download', 200],
    ]);
  });

  it('an unknown file_id is gone; over 20 MB is too large without a download', async () => {
    expect((await failure(telegram().fetch('AgACAgQAAxk', 1000))).reason).toBe('gone');
    const { id } = await uploadMedia(base, Buffer.alloc(20 * 1024 * 1024 + 1), { mimeType: 'video/mp4' });
    const err = await failure(telegram().fetch(id, 64 * 1024 * 1024));
    expect(err.reason).toBe('too_large');
    expect(err.limit).toBe(20 * 1024 * 1024);
    expect(downloads('telegram')).toHaveLength(0);
  });

  it('the bot token never reaches an error, whatever fails', async () => {
    const token = SANDBOX_CREDENTIALS.telegramBotToken;
    const { id } = await uploadMedia(base, Buffer.from('x'), { mimeType: 'audio/ogg' });
    state.addFault({ channel: 'telegram', kind: 'file_download', status: 502, count: 1 });
    const e1 = await failure(telegram().fetch(id, 1000));
    expect(e1.reason).toBe('unavailable');
    // Nothing listens on port 9 of 127.0.0.1: a network error.
    const e2 = await failure(telegram(token, 'http://127.0.0.1:9').fetch(id, 1000));
    expect(e2.reason).toBe('unavailable');
    const e3 = await failure(telegram('1:wrong-token-abc').fetch(id, 1000));
    expect(e3.reason).toBe('rejected');
    for (const e of [e1, e2, e3]) {
      expect(`${e.message}\n${e.stack}`).not.toContain(token);
      expect(`${e.message}\n${e.stack}`).not.toContain('wrong-token-abc');
    }
  });
});

describe('capped download', () => {
  it('a Content-Length over the cap aborts before reading', async () => {
    const { id } = await uploadMedia(base, Buffer.alloc(10_000), { mimeType: 'image/jpeg' });
    const info = (await (
      await fetch(`${base}/sandbox/graph/v24.0/${id}`, {
        headers: { authorization: `Bearer ${SANDBOX_CREDENTIALS.whatsappAccessToken}` },
      })
    ).json()) as { url: string };
    const err = await failure(
      download({
        url: info.url,
        headers: { authorization: `Bearer ${SANDBOX_CREDENTIALS.whatsappAccessToken}` },
        maxBytes: 1000,
        timeoutMs: 5000,
      }),
    );
    expect(err.reason).toBe('too_large');
    expect(err.bytesRead).toBe(0);
  });
});

describe('document text', () => {
  it('reads a PDF page by page and cuts at the limit', async () => {
    const pdf = makePdf(['Factura número 42\nTotal: 100 €', 'Segunda página (con paréntesis)', 'x'.repeat(80)]);
    const full = await extractDocument(pdf, { mimeType: 'application/pdf', maxChars: 10_000 });
    expect(full.format).toBe('pdf');
    expect(full.text).toContain('Factura número 42');
    expect(full.text).toContain('Total: 100 €');
    expect(full.text).toContain('Segunda página (con paréntesis)');
    expect(full.truncated).toBe(false);
    const cut = await extractDocument(pdf, { fileName: 'factura.pdf', maxChars: 20 });
    expect(cut.text).toBe(full.text.slice(0, 20));
    expect(cut.truncated).toBe(true);
  });

  it('reads a DOCX, text, Markdown and CSV; cleans control characters and lone surrogates', async () => {
    const docx = await makeDocx(['Contrato de alquiler', 'Cláusula <1> & "2"', '日本語 😀']);
    const d = await extractDocument(docx, {
      mimeType: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
      maxChars: 1000,
    });
    expect(d.format).toBe('docx');
    expect(d.text).toBe('Contrato de alquiler\n\nCláusula <1> & "2"\n\n日本語 😀');

    const hostile = Buffer.from(`\uFEFFlínea\u0000uno\r\nfin \uD800 ok 😀\u0007`, 'utf8');
    const t = await extractDocument(hostile, { mimeType: 'text/plain', maxChars: 1000 });
    expect(t.text).toBe('líneauno\nfin  ok 😀');
    const csv = await extractDocument(Buffer.from('a,b\n1,2\n'), { mimeType: 'text/csv', maxChars: 1000 });
    expect(csv.text).toBe('a,b\n1,2');
    const md = await extractDocument(Buffer.from('# Título\n\n- uno'), { fileName: 'notas.md', maxChars: 1000 });
    expect(md.text).toBe('# Título\n\n- uno');
    // A cut never splits an emoji in two.
    const emoji = await extractDocument(Buffer.from('ab😀cd'), { mimeType: 'text/plain', maxChars: 3 });
    expect(emoji.text).toBe('ab');
  });

  it('other types, broken files and documents without text are unsupported', async () => {
    for (const [bytes, mime, name] of [
      [Buffer.from('PK\u0003\u0004xlsx'), 'application/vnd.ms-excel', 'hoja.xlsx'],
      [Buffer.from('%PDF-1.4 garbage'), 'application/pdf', 'roto.pdf'],
      [Buffer.from('PK\u0003\u0004 not a zip'), undefined, 'roto.docx'],
      [makePdf(['']), 'application/pdf', 'vacio.pdf'],
      [Buffer.from('   \n  '), 'text/plain', 'blanco.txt'],
    ] as const) {
      const err = await failure(extractDocument(bytes, { mimeType: mime, fileName: name, maxChars: 100 }));
      expect(err.reason).toBe('unsupported');
    }
  });
});

describe('transcription against the OpenAI-compatible fake', () => {
  it('sends the audio with model and language and returns the transcript', async () => {
    const text = await transcriber().transcribe({
      bytes: Buffer.from('quiero reservar una mesa para dos'),
      mimeType: 'audio/ogg; codecs=opus',
      language: 'es',
    });
    expect(text).toBe('quiero reservar una mesa para dos');
    const call = state.calls('llm').find((c) => c.kind === 'transcription');
    expect(call?.body).toMatchObject({ model: 'whisper-test', language: 'es', filename: 'audio.ogg', size: 33 });
    const binary = await transcriber().transcribe({ bytes: Buffer.from([0, 159, 146, 150]), language: 'en' });
    expect(binary).toMatch(/^Nota de voz de prueba \(4 bytes, [0-9a-f]{8}\)\.$/);
  });

  it('a 5xx storm is unavailable after the retries; a 400 is rejected', async () => {
    state.addFault({ channel: 'llm', kind: 'transcription', status: 503, count: 10 });
    const err = await failure(transcriber().transcribe({ bytes: Buffer.from('x'), language: 'es' }));
    expect(err.reason).toBe('unavailable');
    // One try plus one retry (maxRetries 1).
    expect(state.calls('llm').filter((c) => c.kind === 'transcription')).toHaveLength(2);
    state.reset();
    state.addFault({ channel: 'llm', kind: 'transcription', status: 400, count: 1 });
    expect((await failure(transcriber().transcribe({ bytes: Buffer.from('x'), language: 'es' }))).reason).toBe(
      'rejected',
    );
  });
});

describe('locations and contacts as text', () => {
  it('formats coordinates, names and numbers; hostile input is cleaned and bounded', () => {
    expect(describeLocation({ latitude: 40.416775, longitude: -3.70379, name: 'Sol', address: 'Madrid' })).toBe(
      '📍 40.416775, -3.70379 — Sol, Madrid',
    );
    expect(describeLocation({ latitude: 1, longitude: 2, name: 'a\u0000b\uDC00' })).toBe('📍 1, 2 — a b');
    expect(
      describeContacts([
        {
          name: { formatted_name: 'Ana Pérez', first_name: 'Ana' },
          phones: [{ phone: '+34 600 000 000', wa_id: '34600000000' }],
          emails: [{ email: 'ana@example.com' }],
        },
        { first_name: 'Bob', last_name: 'Lee', phone_number: '+15550001' },
        { nonsense: { deep: [[[1]]] } },
      ]),
    ).toBe('👤 Ana Pérez: +34 600 000 000, ana@example.com\n👤 Bob Lee: +15550001');
    expect(describeContacts('x'.repeat(10))).toBeUndefined();
    expect(describeContacts([{ name: { formatted_name: 'z'.repeat(5000) } }])?.length).toBe(203);
  });
});

describe('MediaService', () => {
  const event = (over: Partial<InboundEvent>): InboundEvent => ({
    channel: 'whatsapp',
    externalId: 'wamid.X',
    chatId: '34600000000',
    userId: '34600000000',
    chatType: 'private',
    kind: 'image',
    sentAt: new Date().toISOString(),
    answer: true,
    ...over,
  });
  const service = (vision: boolean, transcription = true) =>
    new MediaService({
      settings: { vision, transcription, maxDocumentChars: 50 },
      whatsapp: whatsapp(),
      telegram: telegram(),
      transcriber: transcriber(),
    });

  it('vision on: the image becomes a data URL with its caption; off: the caption alone, no download', async () => {
    const png = Buffer.from('89504e470d0a1a0a', 'hex');
    const { id } = await uploadMedia(base, png, { mimeType: 'image/png' });
    const ev = event({ kind: 'image', media: { id, mimeType: 'image/png', caption: '¿Qué es esto?' } });
    const on = await service(true).understand(ev, { language: 'es' });
    expect(on).toMatchObject({ outcome: 'image', text: '[image] ¿Qué es esto?', bytes: 8 });
    expect(on.imageUrl).toBe(`data:image/png;base64,${png.toString('base64')}`);
    state.reset();
    const off = await service(false).understand(ev, { language: 'es' });
    expect(off).toMatchObject({ outcome: 'caption_only', text: '¿Qué es esto?' });
    expect(off.imageUrl).toBeUndefined();
    const bare = await service(false).understand(event({ kind: 'image', media: { id } }), { language: 'es' });
    expect(bare).toMatchObject({ outcome: 'disabled' });
    expect(bare.text).toBeUndefined();
    expect(downloads('whatsapp')).toHaveLength(0);
  });

  it('a voice note becomes its transcript (Telegram too); transcription off is disabled', async () => {
    const { id } = await uploadMedia(base, Buffer.from('hola, ¿abrís mañana?'), { mimeType: 'audio/ogg' });
    const wa = await service(false).understand(event({ kind: 'audio', media: { id, mimeType: 'audio/ogg' } }), {
      language: 'es',
    });
    expect(wa).toMatchObject({ outcome: 'transcribed', text: 'hola, ¿abrís mañana?' });
    const tg = await service(false).understand(
      event({ channel: 'telegram', kind: 'audio', media: { id, mimeType: 'audio/ogg' } }),
      { language: 'en' },
    );
    expect(tg).toMatchObject({ outcome: 'transcribed', text: 'hola, ¿abrís mañana?' });
    expect(state.calls('llm').map((c) => (c.body as { language: string }).language)).toEqual(['es', 'en']);
    const off = await service(false, false).understand(event({ kind: 'audio', media: { id } }), { language: 'es' });
    expect(off.outcome).toBe('disabled');
  });

  it('a document is given with its name and caption, truncated at the limit; failures keep the caption', async () => {
    const { id } = await uploadMedia(base, makePdf(['A'.repeat(200)]), { mimeType: 'application/pdf' });
    const doc = await service(false).understand(
      event({
        kind: 'document',
        media: { id, mimeType: 'application/pdf', fileName: 'informe.pdf', caption: 'resume' },
      }),
      { language: 'es' },
    );
    expect(doc.outcome).toBe('extracted');
    expect(doc.truncated).toBe(true);
    expect(doc.text).toBe(`[document: informe.pdf]\n\nresume\n\n${'A'.repeat(50)}\n\n[…]`);
    const gone = await service(false).understand(
      event({ kind: 'document', media: { id: '999', caption: 'mira esto' } }),
      { language: 'es' },
    );
    expect(gone).toMatchObject({ outcome: 'gone' });
    expect(gone.text).toBeUndefined();
    const metrics = await registry.getSingleMetricAsString('wadi_media_total');
    expect(metrics).toMatch(/wadi_media_total\{channel="whatsapp",kind="document",outcome="extracted"\} 1/);
    expect(metrics).toMatch(/wadi_media_total\{channel="whatsapp",kind="document",outcome="gone"\} 1/);
  });

  it('an outage of the platform is thrown (the turn waits), not answered', async () => {
    const { id } = await uploadMedia(base, Buffer.from('x'), { mimeType: 'audio/ogg' });
    state.addFault({ channel: 'whatsapp', kind: 'media_info', status: 503, count: 1 });
    const err = await failure(service(false).understand(event({ kind: 'audio', media: { id } }), { language: 'es' }));
    expect(err.reason).toBe('unavailable');
  });
});

describe('the fake chat completions with content parts', () => {
  it('echoes text parts, counts images and can refuse image input', async () => {
    const body = {
      model: 'm',
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'describe' },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } },
          ],
        },
      ],
    };
    const post = () =>
      fetch(`${base}/sandbox/openai/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const ok = (await (await post()).json()) as { choices: { message: { content: string } }[] };
    expect(ok.choices[0].message.content).toBe('[sandbox] describe [1 image]');
    state.addFault({ channel: 'llm', kind: 'image_input', count: 1 });
    expect((await post()).status).toBe(400);
    const recorded = state.calls('llm').map((c) => (c.body as typeof body).messages[0].content[1]);
    expect(recorded[0]).toEqual({ type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } });
  });
});
