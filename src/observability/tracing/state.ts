/**
 * Whether tracing runs in this process and how to flush it, kept apart from sdk.ts so code that
 * only needs to flush at shutdown does not load the SDK.
 */
let shutdown: (() => Promise<void>) | undefined;

/** Called by sdk.ts once the SDK started. */
export function setTracingShutdown(fn: () => Promise<void>): void {
  shutdown = fn;
}

/** True when the SDK was started in this process. */
export function tracingEnabled(): boolean {
  return shutdown !== undefined;
}

/** Flushes and stops tracing if it runs (at shutdown, so the last spans are exported). */
export async function stopTracing(): Promise<void> {
  const fn = shutdown;
  shutdown = undefined;
  await fn?.();
}
