/**
 * A circuit breaker around an Assistant: after `failures` consecutive unavailability errors it
 * opens for `openMs`, failing fast so workers stop piling requests on a sick LLM; then one trial
 * request (half-open) decides whether it closes again. Time comes from an injectable clock.
 */
import { type Assistant, type AssistantReply, type AssistantRequest, AssistantUnavailableError } from './assistant.ts';

/** The assistant's availability, for the LlmUnavailable alert and /admin/health. */
export interface AssistantStatus {
  /** True while the circuit breaker is open (the LLM is failing or too slow). */
  breakerOpen(): boolean;
  /** Last error seen from the LLM, if any (no secrets). */
  lastError(): string | undefined;
}

/** Breaker tuning. */
export interface BreakerOptions {
  readonly failures: number;
  readonly openMs: number;
  readonly now?: () => number;
}

/** The breaker state as reported to alerts and tests. */
export type BreakerState = 'closed' | 'open' | 'half_open';

/** An Assistant that fails fast while its inner assistant keeps failing. */
export class CircuitBreakerAssistant implements Assistant, AssistantStatus {
  readonly name: string;
  private readonly inner: Assistant;
  private readonly opts: BreakerOptions;
  private readonly now: () => number;
  private consecutive = 0;
  private openedAt: number | undefined;
  private trialInFlight = false;
  private lastErr: string | undefined;

  constructor(inner: Assistant, opts: BreakerOptions) {
    this.inner = inner;
    this.opts = opts;
    this.name = inner.name;
    this.now = opts.now ?? Date.now;
  }

  /** closed, open (failing fast) or half_open (one trial allowed). */
  state(): BreakerState {
    if (this.openedAt === undefined) return 'closed';
    return this.now() - this.openedAt >= this.opts.openMs ? 'half_open' : 'open';
  }

  /** True while requests fail fast. */
  breakerOpen(): boolean {
    return this.state() !== 'closed';
  }

  /** Last LLM error message (the SDK's messages carry no secrets). */
  lastError(): string | undefined {
    return this.lastErr;
  }

  /** Forwards the request unless the breaker is open. */
  async reply(req: AssistantRequest): Promise<AssistantReply> {
    const state = this.state();
    if (state === 'open' || (state === 'half_open' && this.trialInFlight)) {
      const left = this.openedAt === undefined ? 0 : this.opts.openMs - (this.now() - this.openedAt);
      throw new AssistantUnavailableError('assistant circuit breaker is open', { retryAfterMs: Math.max(left, 0) });
    }
    const trial = state === 'half_open';
    if (trial) this.trialInFlight = true;
    try {
      const r = await this.inner.reply(req);
      this.consecutive = 0;
      this.openedAt = undefined;
      this.lastErr = undefined;
      return r;
    } catch (err) {
      // Only unavailability counts: a rejected request says nothing about the LLM's health, and an
      // abort at shutdown is ours.
      if (err instanceof AssistantUnavailableError && !req.signal?.aborted) {
        this.lastErr = err.message;
        this.consecutive++;
        if (trial || this.consecutive >= this.opts.failures) this.openedAt = this.now();
      }
      throw err;
    } finally {
      if (trial) this.trialInFlight = false;
    }
  }
}
