/**
 * Event-loop delay without a 10 ms timer at rest. Node's `monitorEventLoopDelay` wakes the
 * process every `resolution` ms (100 times a second at the usual 10 ms), which is about half of
 * what an idle WADI process costs (bench/idle.ts). This monitor keeps that fine histogram on only
 * while the loop is busy; otherwise a check every `checkMs` (1 s, unref'd) measures how late it
 * itself fired, the delay any timer would have seen. The check also reads the event-loop
 * utilization since the previous one: above `busyUtilization`, or a delay of `busyDelayMs` or
 * more, turns the fine histogram on at once; `quietChecks` quiet checks in a row turn it off.
 *
 * Used by load shedding (`delayMs`, reset each check) and by the `nodejs_eventloop_lag_*`
 * gauges (`window()`, reset each scrape).
 */
import {
  createHistogram,
  type EventLoopUtilization,
  type IntervalHistogram,
  monitorEventLoopDelay,
  performance,
  type RecordableHistogram,
} from 'node:perf_hooks';

/** Resolution of the fine histogram while busy (what prom-client used). */
export const FINE_RESOLUTION_MS = 10;

/** The statistics both histograms share (values in nanoseconds). */
export type DelayHistogram = Pick<IntervalHistogram, 'count' | 'min' | 'max' | 'mean' | 'stddev' | 'percentile'>;

/** Tuning; `now` and `utilization` are for tests. */
export interface EventLoopMonitorOptions {
  /** How often the check runs (ms). */
  readonly checkMs?: number;
  /** Utilization (0..1) since the previous check that counts as busy. */
  readonly busyUtilization?: number;
  /** A delay of the check itself (ms) that counts as busy. */
  readonly busyDelayMs?: number;
  /** Quiet checks in a row before the fine histogram is turned off. */
  readonly quietChecks?: number;
  /** true: `delayMs` covers the last check only and the histograms are reset at each check. */
  readonly resetEachCheck?: boolean;
  readonly now?: () => number;
  /** Event-loop utilization since the previous call (0..1). */
  readonly utilization?: () => number;
}

function eluSincePrevious(): () => number {
  let last: EventLoopUtilization = performance.eventLoopUtilization();
  return () => {
    const cur = performance.eventLoopUtilization();
    const u = performance.eventLoopUtilization(cur, last).utilization;
    last = cur;
    return u;
  };
}

/** Event-loop delay, fine while busy and from one 1 s check while idle. */
export class EventLoopMonitor {
  private readonly fine = monitorEventLoopDelay({ resolution: FINE_RESOLUTION_MS });
  // While the fine histogram is off: one sample per check, `resolution + delay`, the interval a
  // 10 ms timer would have seen, so both histograms read on the same scale.
  private readonly coarse: RecordableHistogram = createHistogram();
  private readonly checkMs: number;
  private readonly busyUtilization: number;
  private readonly busyDelayMs: number;
  private readonly quietChecks: number;
  private readonly resetEachCheck: boolean;
  private readonly now: () => number;
  private readonly utilization: () => number;
  private fineOn = false;
  private quiet = 0;
  private lastCheck = 0;
  private delay = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(opts: EventLoopMonitorOptions = {}) {
    this.checkMs = opts.checkMs ?? 1000;
    this.busyUtilization = opts.busyUtilization ?? 0.05;
    this.busyDelayMs = opts.busyDelayMs ?? 50;
    this.quietChecks = opts.quietChecks ?? 5;
    this.resetEachCheck = opts.resetEachCheck ?? true;
    this.now = opts.now ?? (() => performance.now());
    this.utilization = opts.utilization ?? eluSincePrevious();
    this.lastCheck = this.now();
  }

  /** Starts the periodic check (it does not keep the process alive); the fine histogram starts on. */
  start(): void {
    if (this.timer) return;
    this.lastCheck = this.now();
    this.setFine(true);
    this.timer = setInterval(() => this.check(), this.checkMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.setFine(false);
  }

  /** True while the 10 ms histogram runs. */
  get fineActive(): boolean {
    return this.fineOn;
  }

  /** Delay (ms) beyond schedule seen by the last check: its own lateness or the fine histogram's mean. */
  get delayMs(): number {
    return this.delay;
  }

  /** One check (the timer calls it; tests call it directly). */
  check(): void {
    const at = this.now();
    const late = Math.max(0, at - this.lastCheck - this.checkMs);
    this.lastCheck = at;
    let delay = late;
    if (this.fineOn) {
      // The mean interval minus the resolution, as @fastify/under-pressure computed it.
      if (this.fine.count > 0) delay = Math.max(delay, this.fine.mean / 1e6 - FINE_RESOLUTION_MS);
    } else {
      this.coarse.record(Math.max(1, Math.round((FINE_RESOLUTION_MS + late) * 1e6)));
    }
    this.delay = delay;
    if (this.resetEachCheck) this.reset();
    const busy = this.utilization() >= this.busyUtilization || late >= this.busyDelayMs;
    if (busy) {
      this.quiet = 0;
      this.setFine(true);
    } else if (this.fineOn && ++this.quiet >= this.quietChecks) {
      this.setFine(false);
    }
  }

  /**
   * The delays recorded since the last reset: the fine histogram when it has samples, else the
   * checks' own; undefined when neither has any.
   */
  window(): DelayHistogram | undefined {
    if (this.fine.count > 0) return this.fine;
    if (this.coarse.count > 0) return this.coarse;
    return undefined;
  }

  reset(): void {
    this.fine.reset();
    this.coarse.reset();
  }

  private setFine(on: boolean): void {
    if (on === this.fineOn) return;
    this.fineOn = on;
    this.quiet = 0;
    if (on) this.fine.enable();
    else this.fine.disable();
  }
}
