import type { Clock } from './clock.ts';

/**
 * The time of a lease or retry decision as a SQL parameter (`coalesce($n::timestamptz, now())`):
 * the clock's time when one is given (tests move it by hand), else null, and the database's now()
 * decides: one clock shared by every process, whatever their own clocks say (production).
 */
export function decisionTime(clock: Clock | undefined): Date | null {
  return clock ? new Date(clock.now()) : null;
}
