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
 * Polls `baseUrl/sandbox/outbox` for calls after sequence `after` that `match` accepts. Once one
 * arrives, keeps collecting for `settleMs` more (long replies come in several parts). Resolves with
 * the matching calls, or an empty list when the timeout passes first.
 */
export async function waitForSandboxReply(opts: {
  readonly baseUrl: string;
  readonly channel: SandboxChannel;
  readonly after: number;
  readonly match: (call: SandboxCall) => boolean;
  readonly timeoutMs: number;
  readonly settleMs?: number;
  readonly intervalMs?: number;
}): Promise<SandboxCall[]> {
  const deadline = Date.now() + opts.timeoutMs;
  const found: SandboxCall[] = [];
  let after = opts.after;
  let settleUntil = Number.POSITIVE_INFINITY;
  while (Date.now() < Math.min(deadline, settleUntil)) {
    for (const c of await fetchOutbox(opts.baseUrl, opts.channel, after)) {
      after = Math.max(after, c.seq);
      if (opts.match(c)) {
        found.push(c);
        settleUntil = Date.now() + (opts.settleMs ?? 1000);
      }
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 200));
  }
  return found;
}
