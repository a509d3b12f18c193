/**
 * Reading replies from a running sandbox's outbox (`/sandbox/outbox`), shared by every
 * `wadi simulate` subcommand.
 */
import type { SandboxCall, SandboxChannel } from '../sandbox/state.ts';
import { CliError } from './common.ts';

/** Highest sequence number currently in the sandbox outbox for `channel` (0 when empty). */
export async function sandboxOutboxSeq(baseUrl: string, channel: SandboxChannel): Promise<number> {
  const calls = await fetchOutbox(baseUrl, channel, 0);
  return calls.at(-1)?.seq ?? 0;
}

async function fetchOutbox(baseUrl: string, channel: SandboxChannel, after: number): Promise<SandboxCall[]> {
  let res: Response;
  try {
    res = await fetch(`${baseUrl}/sandbox/outbox?channel=${channel}&after=${after}`, {
      signal: AbortSignal.timeout(5000),
    });
  } catch (err) {
    throw new CliError(`cannot reach ${baseUrl}: ${(err as Error).message}`);
  }
  if (res.status === 404) {
    throw new CliError(`${baseUrl} has no /sandbox/outbox: the reply can only be shown when WADI runs in sandbox mode`);
  }
  if (!res.ok) throw new CliError(`${baseUrl}/sandbox/outbox answered HTTP ${res.status}`);
  return ((await res.json()) as { calls: SandboxCall[] }).calls;
}

/**
 * Why a stored message will get no reply by design: the conversation is waiting for a person
 * (`needs_human`, after `/human` or a handoff word) or an operator has it (`paused`), and the
 * message was recorded unanswered. Read from the running WADI's admin API with the key this CLI's
 * configuration knows (ADMIN_API_KEY or the generated development key); when that key is refused or
 * the API cannot be reached, the probe stays silent and the caller just waits for its timeout.
 */
export class ConversationProbe {
  private disabled = false;
  private unansweredBefore = 0;

  private readonly baseUrl: string;
  private readonly adminKey: string | undefined;
  private readonly channel: 'whatsapp' | 'telegram';
  private readonly chatId: string;

  constructor(baseUrl: string, adminKey: string | undefined, channel: 'whatsapp' | 'telegram', chatId: string) {
    this.baseUrl = baseUrl;
    this.adminKey = adminKey;
    this.channel = channel;
    this.chatId = chatId;
    if (!adminKey) this.disabled = true;
  }

  private async conversation(): Promise<{ id: number; state: string; unanswered: number } | undefined> {
    if (this.disabled) return undefined;
    try {
      const q = new URLSearchParams({ channel: this.channel, q: this.chatId, limit: '200' });
      const res = await fetch(`${this.baseUrl}/admin/sessions?${q}`, {
        headers: { 'x-admin-key': this.adminKey ?? '' },
        signal: AbortSignal.timeout(5000),
      });
      if (!res.ok) {
        // A key of another WADI (401/403), or no admin API: never ask again (no lockout from retries).
        this.disabled = true;
        return undefined;
      }
      const page = (await res.json()) as { items: { id: number; chatId: string; state: string; unanswered: number }[] };
      return page.items.find((s) => s.chatId === this.chatId);
    } catch {
      return undefined;
    }
  }

  /** Call before sending: remembers how many unanswered messages the conversation already has. */
  async snapshot(): Promise<void> {
    this.unansweredBefore = (await this.conversation())?.unanswered ?? 0;
  }

  /** The reason no reply will come, once the message just sent has been stored unanswered. */
  async silentReason(): Promise<string | undefined> {
    const c = await this.conversation();
    if (!c || c.unanswered <= this.unansweredBefore) return undefined;
    if (c.state !== 'needs_human' && c.state !== 'paused') return undefined;
    const who = c.state === 'needs_human' ? 'waits for a person (needs human)' : 'is paused (an operator has it)';
    return (
      `conversation ${c.id} ${who}: the message was stored unanswered and the bot does not reply until ` +
      `an operator resumes it (dashboard /admin/ui/conversations/${c.id}, or POST /admin/sessions/${c.id}/resume)`
    );
  }
}

/** What waitForSandboxReply saw: the matching calls, or why none will come. */
export interface SandboxReplies {
  readonly calls: SandboxCall[];
  /** Set when `silent` reported that no reply will come (the wait ended early). */
  readonly silent?: string;
}

/**
 * Polls `baseUrl/sandbox/outbox` for calls after sequence `after` that `match` accepts. Once one
 * arrives, keeps collecting for `settleMs` more (long replies come in several parts). Resolves with
 * the matching calls, or an empty list when the timeout passes first, or as soon as `silent`
 * (asked about once a second while nothing matched) gives a reason no reply will come.
 */
export async function waitForSandboxReply(opts: {
  readonly baseUrl: string;
  readonly channel: SandboxChannel;
  readonly after: number;
  readonly match: (call: SandboxCall) => boolean;
  readonly timeoutMs: number;
  readonly settleMs?: number;
  readonly intervalMs?: number;
  readonly silent?: () => Promise<string | undefined>;
}): Promise<SandboxReplies> {
  const deadline = Date.now() + opts.timeoutMs;
  const found: SandboxCall[] = [];
  let after = opts.after;
  let settleUntil = Number.POSITIVE_INFINITY;
  let nextProbe = Date.now() + 500;
  while (Date.now() < Math.min(deadline, settleUntil)) {
    if (found.length === 0 && opts.silent && Date.now() >= nextProbe) {
      nextProbe = Date.now() + 1000;
      const reason = await opts.silent();
      // One more look at the outbox: a reply sent just before the state changed still counts.
      if (reason) {
        const late = (await fetchOutbox(opts.baseUrl, opts.channel, after)).filter(opts.match);
        return late.length > 0 ? { calls: late } : { calls: [], silent: reason };
      }
    }
    for (const c of await fetchOutbox(opts.baseUrl, opts.channel, after)) {
      after = Math.max(after, c.seq);
      if (opts.match(c)) {
        found.push(c);
        settleUntil = Date.now() + (opts.settleMs ?? 1000);
      }
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 200));
  }
  return { calls: found };
}
