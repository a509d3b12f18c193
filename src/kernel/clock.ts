/** The time source for lease, retry and window decisions; tests pass a clock they move by hand. */
export interface Clock {
  now(): number;
}

/** The process clock. */
export const systemClock: Clock = { now: () => Date.now() };
