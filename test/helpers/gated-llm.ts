/**
 * An OpenAI-compatible chat-completions fake for scheduling tests, counting at the fake: how many
 * requests are in flight now and at the peak, and when each arrived. It can hold every request
 * until `holdUntil` are in flight at once (then releases them all), answer the next requests with
 * a throttling status and `retry-after`, or keep each request for `delayMs`.
 */
import type http from 'node:http';
import { listen, readBody, type TestServer } from './servers.ts';

/** One request the fake received. */
export interface LlmArrival {
  readonly at: number;
  readonly lastUser: string;
  readonly status: number;
}

/** The fake. */
export class GatedLlm {
  inFlight = 0;
  peak = 0;
  readonly arrivals: LlmArrival[] = [];
  /** Hold requests until this many are in flight at once (0 = answer at once). */
  holdUntil = 0;
  /** Keep each answered request this long (ms). */
  delayMs = 0;
  /** The next requests are answered with these statuses (and `retry-after` seconds) instead. */
  readonly failNext: { status: number; retryAfterSeconds?: number }[] = [];
  private held: (() => void)[] = [];
  private server: TestServer | undefined;
  private safety: NodeJS.Timeout | undefined;

  /** Starts listening; resolves with the base URL to use as OPENAI_BASE_URL. */
  async start(): Promise<string> {
    this.server = await listen((req, res) => void this.handle(req, res));
    return `${this.server.url}/v1`;
  }

  /** Releases every held request and stops holding. */
  release(): void {
    this.holdUntil = 0;
    for (const h of this.held.splice(0)) h();
  }

  /**
   * A request still held after `ms` is released, so a scheduler that never reaches `holdUntil`
   * fails the test's assertions instead of hanging it.
   */
  releaseAfter(ms: number): void {
    clearTimeout(this.safety);
    this.safety = setTimeout(() => this.release(), ms);
  }

  async close(): Promise<void> {
    clearTimeout(this.safety);
    this.release();
    await this.server?.close();
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const raw = await readBody(req);
    const body = JSON.parse(raw || '{}') as { messages?: { role: string; content: string }[] };
    let lastUser = '';
    for (const m of body.messages ?? []) if (m.role === 'user') lastUser = m.content;
    const fail = this.failNext.shift();
    if (fail) {
      this.arrivals.push({ at: Date.now(), lastUser, status: fail.status });
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (fail.retryAfterSeconds !== undefined) headers['retry-after'] = String(fail.retryAfterSeconds);
      res.writeHead(fail.status, headers);
      res.end(JSON.stringify({ error: { message: 'throttled by the test fake', type: 'rate_limit_error' } }));
      return;
    }
    this.arrivals.push({ at: Date.now(), lastUser, status: 200 });
    this.inFlight++;
    this.peak = Math.max(this.peak, this.inFlight);
    if (this.holdUntil > 0) {
      if (this.inFlight >= this.holdUntil) this.release();
      else await new Promise<void>((r) => this.held.push(r));
    }
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    this.inFlight--;
    const text = `[fake] ${lastUser}`;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        id: `chatcmpl-gated-${this.arrivals.length}`,
        object: 'chat.completion',
        created: Math.floor(Date.now() / 1000),
        model: 'gated',
        choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop', logprobs: null }],
        usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
      }),
    );
  }
}
