/**
 * A burst of distinct WhatsApp users, each sending one signed message at the same moment, and the
 * time each reply took to reach the fake platform: shared by bench/time-to-reply.ts and
 * bench/scale-out.ts.
 */
import { SANDBOX_CREDENTIALS } from '../../src/config/config.ts';
import { metaJson, signWhatsapp, whatsappTextWebhook } from '../../src/sandbox/payloads.ts';
import { percentile } from '../../src/tools/load/runner.ts';

/** p-th percentile of unsorted values (null when empty), as `wadi load` computes it. */
export const pct = (v: readonly number[], p: number) =>
  percentile(
    [...v].sort((a, b) => a - b),
    p,
  );

/** The sandbox's last call sequence number: replies after it belong to what comes next. */
export async function sandboxSeq(url: string): Promise<number> {
  const r = (await (await fetch(`${url}/sandbox/outbox?summary=1`)).json()) as { summary: { last: { seq: number } } };
  return r.summary.last.seq;
}

/**
 * `users` distinct senders (`<prefix><7 digits>`) each send one message at once. Like Meta, a
 * delivery not answered 200 (503 while shedding, or no answer) is sent again a second later, up to
 * 30 times; time-to-reply counts from the 200. Answers when each sender was accepted.
 */
export async function sendBurst(
  url: string,
  users: number,
  o: { readonly prefix: string; readonly tag: string },
): Promise<{ accepted: Map<string, number>; redelivered: number }> {
  const accepted = new Map<string, number>();
  let redelivered = 0;
  await Promise.all(
    Array.from({ length: users }, async (_, i) => {
      const from = `${o.prefix}${String(i).padStart(7, '0')}`;
      const body = metaJson(whatsappTextWebhook({ from, id: `wamid.${o.tag}.${i}`, text: `hola ${i}` }));
      for (let attempt = 0; attempt < 30; attempt++) {
        const res = await fetch(`${url}/webhooks/whatsapp`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'x-hub-signature-256': signWhatsapp(body, SANDBOX_CREDENTIALS.whatsappAppSecret),
          },
          body,
        }).catch(() => undefined);
        await res?.arrayBuffer();
        if (res?.status === 200) {
          accepted.set(from, Date.now());
          return;
        }
        redelivered++;
        await new Promise((r) => setTimeout(r, 1000));
      }
    }),
  );
  return { accepted, redelivered };
}

/** When the fake Graph API accepted the first reply to each accepted sender, polling until all or `timeoutMs`. */
export async function collectReplies(
  url: string,
  afterSeq: number,
  accepted: ReadonlyMap<string, number>,
  timeoutMs: number,
): Promise<Map<string, number>> {
  const replies = new Map<string, number>();
  const deadline = Date.now() + timeoutMs;
  while (replies.size < accepted.size && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 500));
    const res = await fetch(`${url}/sandbox/outbox?channel=whatsapp&after=${afterSeq}`).catch(() => undefined);
    if (!res?.ok) continue; // shed while overloaded: ask again
    const { calls } = (await res.json()) as {
      calls: { kind: string; at: string; status: number; body: { to?: string } }[];
    };
    for (const c of calls) {
      if (c.kind !== 'send_text' || c.status !== 200 || !c.body.to) continue;
      const to = c.body.to.replace(/^\+/, '');
      if (accepted.has(to) && !replies.has(to)) replies.set(to, Date.parse(c.at));
    }
  }
  return replies;
}

/** Milliseconds from acceptance to reply, per answered sender. */
export function timesToReply(accepted: ReadonlyMap<string, number>, replies: ReadonlyMap<string, number>): number[] {
  return [...replies.entries()].map(([k, at]) => at - (accepted.get(k) as number));
}
