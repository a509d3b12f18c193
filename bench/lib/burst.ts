/**
 * A burst of distinct WhatsApp users, each sending one signed message at the same moment, and the
 * time each reply took to reach the fake platform: shared by bench/time-to-reply.ts and
 * bench/scale-out.ts.
 */
import pg from 'pg';
import { percentile } from '../../src/tools/load/runner.ts';
import { postWhatsapp } from '../../test/helpers/cluster.ts';

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

/** The `i`-th sender of a burst (its message says `hola <i>`). */
export function senderOf(prefix: string, i: number): string {
  return `${prefix}${String(i).padStart(7, '0')}`;
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
      const from = senderOf(o.prefix, i);
      for (let attempt = 0; attempt < 30; attempt++) {
        if ((await postWhatsapp(url, { from, id: `wamid.${o.tag}.${i}`, text: `hola ${i}` })) === 200) {
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

/**
 * How long the fake LLM made each burst sender's completion take (ms), by sender: the sandbox's
 * LLM call log after `afterSeq`, matched through the prompt's last user message (`hola <i>`).
 */
export async function llmDrawsBySender(url: string, afterSeq: number, prefix: string): Promise<Map<string, number>> {
  type Call = { latencyMs?: number; body?: { messages?: { role: string; content: unknown }[] } };
  let calls: Call[] = [];
  for (let i = 0; i < 30; i++) {
    const res = await fetch(`${url}/sandbox/outbox?channel=llm&after=${afterSeq}`).catch(() => undefined);
    if (res?.ok) {
      calls = ((await res.json()) as { calls: Call[] }).calls;
      break;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  const out = new Map<string, number>();
  for (const c of calls) {
    const user = (c.body?.messages ?? []).filter((m) => m.role === 'user').at(-1);
    const m = typeof user?.content === 'string' ? /^hola (\d+)$/.exec(user.content) : null;
    if (m && c.latencyMs !== undefined) out.set(senderOf(prefix, Number(m[1])), c.latencyMs);
  }
  return out;
}

/**
 * WADI's own share of each reply's time: time-to-reply minus that message's LLM draw (debounce,
 * claim, history, commit, send and every queue between), for the senders whose draw is known.
 */
export function wadiShares(
  accepted: ReadonlyMap<string, number>,
  replies: ReadonlyMap<string, number>,
  draws: ReadonlyMap<string, number>,
): number[] {
  const out: number[] = [];
  for (const [k, at] of replies) {
    const d = draws.get(k);
    const a = accepted.get(k);
    if (d !== undefined && a !== undefined) out.push(at - a - d);
  }
  return out;
}

/** Where the time of a run's turns went, from the stage timestamps WADI records (p50/p95, ms). */
export async function stageBreakdown(dbUrl: string) {
  const c = new pg.Client({ connectionString: dbUrl });
  await c.connect();
  try {
    const ms = (a: string, b: string) => `extract(epoch from (${b} - ${a})) * 1000`;
    let col = 0;
    const q = (e: string) =>
      `percentile_cont(0.5) within group (order by ${e})::int as c${col++}, percentile_cont(0.95) within group (order by ${e})::int as c${col++}`;
    const { rows } = await c.query(
      `select
         ${q(ms('i.received_at', 'i.claimed_at'))},
         ${q(ms('i.claimed_at', 'i.llm_started_at'))},
         ${q(ms('i.llm_started_at', 'i.llm_ended_at'))},
         ${q(ms('i.llm_ended_at', 'i.done_at'))},
         ${q(ms('i.done_at', 'o.sent_at'))}
       from inbox_messages i join outbox_messages o on o.inbox_id = i.id
       where i.status = 'done' and o.sent_at is not null`,
    );
    const v = Array.from({ length: col }, (_, i) => (rows[0]?.[`c${i}`] ?? null) as number | null);
    const names = ['receivedToClaimed', 'claimedToLlmStart', 'llm', 'llmEndToCommitted', 'committedToSent'];
    return Object.fromEntries(names.map((n, i) => [n, { p50Ms: v[2 * i], p95Ms: v[2 * i + 1] }]));
  } finally {
    await c.end();
  }
}
