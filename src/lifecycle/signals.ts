/**
 * Graceful shutdown on SIGTERM/SIGINT: the first signal runs `stop` and exits 0 when it finishes
 * within the grace period (1 if it overruns or fails); a second signal exits at once.
 */
import type { Logger } from 'pino';

/** What to do when the process is asked to stop. */
export interface ShutdownOptions {
  readonly stop: () => Promise<void>;
  readonly graceMs: number;
  readonly logger: Logger;
  readonly exit?: (code: number) => void;
}

/** Installs the handlers; returns a function that removes them. */
export function handleSignals(opts: ShutdownOptions): () => void {
  const exit = opts.exit ?? ((code: number) => process.exit(code));
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) {
      opts.logger.warn({ signal }, 'second signal: exiting now');
      exit(130);
      return;
    }
    signalled = true;
    opts.logger.info({ signal, graceMs: opts.graceMs }, 'shutting down');
    const timer = setTimeout(() => {
      opts.logger.error({ graceMs: opts.graceMs }, 'shutdown overran its grace period; exiting');
      exit(1);
    }, opts.graceMs);
    timer.unref();
    opts
      .stop()
      .then(() => {
        clearTimeout(timer);
        exit(0);
      })
      .catch((err) => {
        clearTimeout(timer);
        opts.logger.error({ err }, 'shutdown failed');
        exit(1);
      });
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return () => {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  };
}
