/**
 * Timers of the work loops (inbox workers, outbox dispatcher) that sleep until told there is
 * work: a safety-net poll that is slow while wake-up signals arrive (LISTEN/NOTIFY, in-process
 * events) and fast while they cannot (the notification connection is down), and a coalescing
 * "look again later" for work that becomes claimable after a delay (the burst debounce).
 */

/** Calls `fn` every `slowMs` while signals work, every `fastMs` otherwise. */
export class SafetyPoll {
  private timer: NodeJS.Timeout | undefined;
  private slow = false;
  private running = false;
  private readonly fn: () => void;
  private readonly slowMs: number;
  private readonly fastMs: number;

  constructor(fn: () => void, slowMs: number, fastMs: number) {
    this.fn = fn;
    this.slowMs = slowMs;
    this.fastMs = fastMs;
  }

  start(): void {
    this.running = true;
    this.arm();
  }

  /** Signals work (slow poll) or not (fast poll); takes effect now. */
  setSignalled(signalled: boolean): void {
    if (this.slow === signalled) return;
    this.slow = signalled;
    if (this.running) this.arm();
  }

  get intervalMs(): number {
    return this.slow ? this.slowMs : this.fastMs;
  }

  private arm(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.fn();
      if (this.running) this.arm();
    }, this.intervalMs);
  }

  stop(): void {
    this.running = false;
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/**
 * Calls `fn` once `delayMs` after the latest `defer()`: a burst of a thousand signals arms one
 * timer, not a thousand, and the call still comes no earlier than `delayMs` after the last one.
 */
export class DeferredCall {
  private timer: NodeJS.Timeout | undefined;
  private due = 0;
  private readonly fn: () => void;
  private readonly delayMs: number;

  constructor(fn: () => void, delayMs: number) {
    this.fn = fn;
    this.delayMs = delayMs;
  }

  defer(): void {
    this.due = performance.now() + this.delayMs;
    if (!this.timer) this.arm(this.delayMs);
  }

  private arm(ms: number): void {
    this.timer = setTimeout(() => {
      const left = this.due - performance.now();
      if (left > 1) {
        this.arm(left);
        return;
      }
      this.timer = undefined;
      this.fn();
    }, ms);
    this.timer.unref();
  }

  cancel(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
