/**
 * kill -9 of the worker in the middle of a media turn, with WADI as real processes on real
 * PostgreSQL and a standalone sandbox: during the download, and after the transcript was stored
 * while the chat model is answering. After a restart the user gets exactly one answer, and a
 * stored transcript is reused (one transcription request in all).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { SANDBOX_CREDENTIALS } from '../../src/config/config.ts';
import { metaJson, signWhatsapp, whatsappMediaWebhook } from '../../src/sandbox/payloads.ts';
import { Cluster } from '../helpers/cluster.ts';
import { createPostgresDatabase, postgresUrl } from '../helpers/db.ts';
import { uploadMedia } from '../helpers/media-fixtures.ts';

const TIMEOUT = 240_000;

interface Call {
  kind: string;
  status: number;
  body: Record<string, unknown> | null;
}

describe.runIf(postgresUrl())('media turns survive kill -9 of the worker', () => {
  let c: Cluster | undefined;
  let drop: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await c?.stop();
    await drop?.();
  });

  async function setup() {
    const db = await createPostgresDatabase();
    drop = db.drop;
    c = new Cluster(db.url, { WADI_SANDBOX_LLM: 'true', OPENAI_MAX_RETRIES: '0', OPENAI_TIMEOUT_MS: '30000' });
    const sandbox = await c.startSandbox();
    const web = await c.start('web');
    const worker = await c.start('worker');
    return { cluster: c, sandbox, web, worker };
  }

  const calls = async (base: string, channel: string): Promise<Call[]> =>
    ((await (await fetch(`${base}/sandbox/outbox?channel=${channel}`)).json()) as { calls: Call[] }).calls;
  const fault = (base: string, f: Record<string, unknown>) =>
    fetch(`${base}/sandbox/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(f),
    });
  async function until(what: string, fn: () => Promise<boolean>, ms = 90_000) {
    const deadline = Date.now() + ms;
    while (!(await fn())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  async function sendVoice(web: string, sandbox: string, from: string, said: string) {
    const up = await uploadMedia(sandbox, Buffer.from(said), { mimeType: 'audio/ogg' });
    const raw = metaJson(
      whatsappMediaWebhook({
        from,
        id: `wamid.crash.${from}`,
        media: 'voice',
        mediaId: up.id,
        mimeType: 'audio/ogg',
        sha256: up.sha256,
      }),
    );
    const res = await fetch(`${web}/webhooks/whatsapp`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-hub-signature-256': signWhatsapp(raw, SANDBOX_CREDENTIALS.whatsappAppSecret),
      },
      body: raw,
    });
    expect(res.status).toBe(200);
  }
  const repliesTo = async (sandbox: string, to: string) =>
    (await calls(sandbox, 'whatsapp')).filter(
      (x) => x.kind === 'send_text' && x.status === 200 && (x.body as { to?: string }).to === to,
    );
  const transcriptionsOf = async (sandbox: string, said: string) =>
    (await calls(sandbox, 'llm')).filter(
      (x) => x.kind === 'transcription' && (x.body as { size?: number }).size === Buffer.byteLength(said),
    );

  it(
    'killed during the download: after the restart, exactly one answer',
    async () => {
      const { cluster, sandbox, web, worker } = await setup();
      const from = '34611000001';
      const said = 'me caigo a mitad de la descarga';
      await fault(sandbox.url, { channel: 'whatsapp', kind: 'media_download', delay_ms: 20_000, count: 1 });
      await sendVoice(web.url, sandbox.url, from, said);
      // The lookup answered, the download hangs: kill the worker now.
      await until('the media lookup', async () =>
        (await calls(sandbox.url, 'whatsapp')).some((x) => x.kind === 'media_info'),
      );
      await cluster.kill9(worker);
      await cluster.start('worker');
      await until('the answer', async () => (await repliesTo(sandbox.url, from)).length >= 1);
      expect((await cluster.drained()).pending).toBe(0);
      await new Promise((r) => setTimeout(r, 1500));
      const replies = await repliesTo(sandbox.url, from);
      expect(replies.map((r) => (r.body as { text: { body: string } }).text.body)).toEqual([`[sandbox] ${said}`]);
      expect(await transcriptionsOf(sandbox.url, said)).toHaveLength(1);
    },
    TIMEOUT,
  );

  it(
    'killed after the transcript was stored: the restarted worker reuses it and answers once',
    async () => {
      const { cluster, sandbox, web, worker } = await setup();
      const from = '34611000002';
      const said = 'no me transcribas dos veces';
      await fault(sandbox.url, { channel: 'llm', kind: 'chat_completion', delay_ms: 25_000, count: 1 });
      await sendVoice(web.url, sandbox.url, from, said);
      await until('the stored transcript', async () => {
        const rows = await cluster.query<{ media: { text?: string } | null }>(
          'select media from inbox_messages where chat_id = $1',
          [from],
        );
        return rows[0]?.media?.text === said;
      });
      await until('the chat request', async () =>
        (await calls(sandbox.url, 'llm')).some((x) => x.kind === 'chat_completion' || x.kind === 'transcription'),
      );
      await cluster.kill9(worker);
      await cluster.start('worker');
      await until('the answer', async () => (await repliesTo(sandbox.url, from)).length >= 1);
      expect((await cluster.drained()).pending).toBe(0);
      await new Promise((r) => setTimeout(r, 1500));
      expect((await repliesTo(sandbox.url, from)).map((r) => (r.body as { text: { body: string } }).text.body)).toEqual(
        [`[sandbox] ${said}`],
      );
      expect(await transcriptionsOf(sandbox.url, said)).toHaveLength(1);
    },
    TIMEOUT,
  );
});
