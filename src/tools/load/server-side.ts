/** What a load run can observe of the server: replies the sandbox sent and the inbox backlog. */

/** Replies recorded by the sandbox fakes so far (null when the target is not in sandbox mode). */
export async function sandboxReplies(url: string): Promise<number | null> {
  try {
    const res = await fetch(`${url}/sandbox/outbox?summary=1`, { signal: AbortSignal.timeout(5000) });
    if (!res.ok) return null;
    const body = (await res.json()) as { summary?: Record<string, Record<string, number>> };
    const s = body.summary ?? {};
    return (s.whatsapp?.send_text ?? 0) + (s.telegram?.sendMessage ?? 0);
  } catch {
    return null;
  }
}

/** `wadi_inbox_pending` from /metrics (null when unavailable or protected without a token). */
export async function inboxPending(url: string, metricsToken?: string): Promise<number | null> {
  try {
    const res = await fetch(`${url}/metrics`, {
      headers: metricsToken ? { authorization: `Bearer ${metricsToken}` } : {},
      signal: AbortSignal.timeout(5000),
    });
    if (!res.ok) return null;
    const m = /^wadi_inbox_pending\s+(\d+(?:\.\d+)?)/m.exec(await res.text());
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** Polls the backlog until it is empty or `maxSeconds` pass; returns what is left and how long it took. */
export async function drain(
  url: string,
  maxSeconds: number,
  metricsToken?: string,
): Promise<{ pending: number | null; seconds: number }> {
  const start = Date.now();
  let pending = await inboxPending(url, metricsToken);
  while (pending !== null && pending > 0 && Date.now() - start < maxSeconds * 1000) {
    await new Promise((r) => setTimeout(r, 500));
    pending = await inboxPending(url, metricsToken);
  }
  return { pending, seconds: Math.round((Date.now() - start) / 100) / 10 };
}
