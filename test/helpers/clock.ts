/** A clock tests move by hand (see src/kernel/clock.ts): lease, retry and window decisions without sleeping. */
import type { Clock } from '../../src/kernel/clock.ts';

export class ManualClock implements Clock {
  t: number;
  constructor(t: number) {
    this.t = t;
  }
  now(): number {
    return this.t;
  }
  /** Moves the clock forward by `ms`. */
  advance(ms: number): void {
    this.t += ms;
  }
}
