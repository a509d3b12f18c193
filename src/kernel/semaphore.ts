/** A counting semaphore: at most `permits` holders at once, waiters served first come, first served. */
export class Semaphore {
  private active = 0;
  private readonly queue: (() => void)[] = [];
  readonly permits: number;

  constructor(permits: number) {
    this.permits = Math.max(1, Math.floor(permits));
  }

  /** Holders now. */
  get inUse(): number {
    return this.active;
  }

  /** Callers waiting for a permit. */
  get waiting(): number {
    return this.queue.length;
  }

  /** Resolves once a permit is held; call release() exactly once afterwards. */
  acquire(): Promise<void> {
    if (this.active < this.permits) {
      this.active++;
      return Promise.resolve();
    }
    return new Promise((resolve) =>
      this.queue.push(() => {
        this.active++;
        resolve();
      }),
    );
  }

  /** Gives a permit back (to the longest waiter, if any). */
  release(): void {
    this.active--;
    this.queue.shift()?.();
  }

  /** Runs `fn` holding a permit. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      return await fn();
    } finally {
      this.release();
    }
  }
}
