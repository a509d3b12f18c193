/** A background loop (worker, dispatcher, poller, scheduler) started and stopped with the process. */
export interface BackgroundService {
  readonly name: string;
  start(): Promise<void> | void;
  /** Stops taking new work and resolves once the work in hand is finished or handed back. */
  stop(): Promise<void>;
}
